using System.ComponentModel.DataAnnotations;

namespace TextClassification.Inference;

/// <summary>Which ONNX Runtime execution provider sessions are created with.</summary>
public enum ExecutionProviderPreference
{
    /// <summary>CUDA when its provider can be appended (GPU build, libraries and a device present), else CPU; the fallback is logged.</summary>
    Auto,

    /// <summary>Always the CPU provider.</summary>
    Cpu,

    /// <summary>CUDA or nothing: a model whose session cannot use CUDA fails to load rather than silently running on the CPU.</summary>
    Cuda,
}

/// <summary>
/// How models are loaded, batched and served. Bound from the <c>Inference</c> section and validated on start:
/// <code>
/// "Inference": {
///   "ExecutionProvider": "Auto" | "Cpu" | "Cuda",
///   "IntraOpThreads": 0,                 // 0 = 1 thread per run, runs in parallel across the cores (see IntraOpThreads)
///   "MemoryBudgetMegabytes": 2048,       // LRU budget for loaded sessions (estimated from artifact size)
///   "MaxBatchSize": 32,
///   "MaxQueueDelayMicroseconds": 500,
///   "BatchingEnabled": true,
///   "MaxInputsPerRequest": 256,
///   "MaxTextLength": 10000,
///   "DefaultAlias": "production",
///   "ResolutionCacheMilliseconds": 2000,
///   "PreloadOnStart": false
/// }
/// </code>
/// </summary>
public sealed class InferenceOptions : IValidatableObject
{
    public const string SectionName = "Inference";

    public ExecutionProviderPreference ExecutionProvider { get; set; } = ExecutionProviderPreference.Auto;

    /// <summary>
    /// Threads ONNX Runtime uses inside one run. 0 chooses for the machine: on the CPU one thread per run, with as
    /// many runs (batches) in flight per model as there are cores; the models served here are small enough that a
    /// batch's operators are too short to gain from splitting across threads, while parallel batches keep every core
    /// busy (measured on a 2-core machine: see docs in the report / ServingThreads). On CUDA, 1 (the GPU does the work).
    /// </summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Loaded sessions are evicted, least recently used first, when their estimated memory passes this budget. The
    /// most recently loaded model always stays, even alone over budget, so that a model can always be served.
    /// </summary>
    [Range(1, 1_048_576)]
    public int MemoryBudgetMegabytes { get; set; } = 2048;

    /// <summary>Most texts in one batch run; also the size of the full-batch warm-up.</summary>
    [Range(1, 4096)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// How long the batcher waits after the first queued request for others to join its batch. A run starts earlier
    /// when the batch is full.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxQueueDelayMicroseconds { get; set; } = 500;

    /// <summary>When false, each request runs on its own, directly on the caller's thread.</summary>
    public bool BatchingEnabled { get; set; } = true;

    [Range(1, 100_000)]
    public int MaxInputsPerRequest { get; set; } = 256;

    /// <summary>Longest text accepted, in UTF-16 characters.</summary>
    [Range(1, 10_000_000)]
    public int MaxTextLength { get; set; } = 10_000;

    /// <summary>The alias a request without a version is served by; the latest version when the model has no such alias.</summary>
    [Required]
    [RegularExpression("^[a-z][a-z0-9._-]{0,63}$")]
    public string DefaultAlias { get; set; } = "production";

    /// <summary>
    /// How long a name's resolution to a version (alias or latest) is trusted without asking the database, so that
    /// changes made by another process are seen within this time. Changes made through this process invalidate it at
    /// once (<see cref="Registry.ModelRegistry.AliasesChanged"/>). A failed load is retried after the same time.
    /// </summary>
    [Range(0, 3_600_000)]
    public int ResolutionCacheMilliseconds { get; set; } = 2000;

    /// <summary>Loads and warms each model's default version while the host starts.</summary>
    public bool PreloadOnStart { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxInputsPerRequest < 1 || MaxBatchSize < 1)
        {
            yield return new ValidationResult("Inference:MaxInputsPerRequest and Inference:MaxBatchSize must be positive.", [nameof(MaxBatchSize)]);
        }
    }
}
