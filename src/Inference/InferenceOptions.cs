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
///   "IntraOpThreads": 0,                 // 0 = 1 thread per run, one run in flight per core (see IntraOpThreads)
///   "MemoryBudgetMegabytes": 2048,       // LRU budget for loaded sessions (estimated from artifact size)
///   "MaxBatchSize": 32,
///   "MaxQueueDelayMicroseconds": 0,      // 0 = batch what is already queued, never wait (see the property)
///   "BatchingEnabled": true,
///   "MaxInputsPerRequest": 256,
///   "MaxTextLength": 10000,
///   "DefaultTopK": 3,                    // capped at the model's label count
///   "DefaultAlias": "production",
///   "ResolutionCacheMilliseconds": 2000,
///   "PreloadOnStart": false
/// }
/// </code>
/// </summary>
public sealed class InferenceOptions
{
    public const string SectionName = "Inference";

    public ExecutionProviderPreference ExecutionProvider { get; set; } = ExecutionProviderPreference.Auto;

    /// <summary>
    /// Threads ONNX Runtime uses inside one run, for every model. 0 chooses for the machine: one thread per run, with
    /// as many runs (batches) of a model in flight as there are cores (two on CUDA, where the GPU does the work).
    /// Measured on a 2-core machine with a 24 MiB bag-of-words model (150 labels), 64 concurrent single-text clients:
    /// one thread and two runs gave about 90k texts/s with a p99 of 2.2 ms; two threads per run, the same throughput
    /// with a p99 of 4.5–8 ms, because a batch's operators are too short for the thread pool to pay for its
    /// synchronisation.
    /// <para>
    /// Larger models were measured too (docs/benchmarks.md, "MiniLM classifier"; 2 cores, five runs, two threads ×
    /// one run against one × two, medians of the ratios), and one thread stays the default at every size. The
    /// default Transformer (2 layers, width 128) loses with two threads: 0.84× the requests/s at concurrency 1 and
    /// 0.80× at 16. For MiniLM-L6 two threads halve a full batch's time (float32 130 → 77 ms) and cut p99 at
    /// concurrency 16 (0.60× float32, 0.81× INT8), but give 0.91× the requests/s at 64: two one-thread runs never
    /// synchronise a pool, and take batches of about 18 rather than 32, which carry less padding. INT8 gains nothing
    /// from a second thread on single texts (p50 1.10× over HTTP). Set 2 on such a machine to trade about a tenth of
    /// a float32 encoder's peak throughput for a lower tail at moderate load.
    /// </para>
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
    /// How long the batcher waits after the first queued request for others to join its batch; a run starts earlier
    /// when the batch is full. With 0 a batch takes what is already queued and never waits: requests still batch up
    /// while every run slot is busy, which is when batching pays. Measured on 2 CPU cores (24 MiB model, single-text
    /// requests): 0 µs served 1 client at a p50 of 36 µs and 16 clients at 68k texts/s; 200 µs made that 245 µs and
    /// 32k texts/s, and won only 10% throughput at 64 clients. Raise it for models whose per-row cost falls steeply
    /// with batch size (GPUs); on a CPU even MiniLM's cost per text at batch 32 is only 10–25% below batch 1's (its
    /// runs are compute-bound, and a batch pads to its longest text). Waits of a millisecond or more use a timer and
    /// overshoot by about 1 ms.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxQueueDelayMicroseconds { get; set; }

    /// <summary>When false, each request runs on its own, directly on the caller's thread.</summary>
    public bool BatchingEnabled { get; set; } = true;

    [Range(1, 100_000)]
    public int MaxInputsPerRequest { get; set; } = 256;

    /// <summary>Longest text accepted, in UTF-16 characters.</summary>
    [Range(1, 10_000_000)]
    public int MaxTextLength { get; set; } = 10_000;

    /// <summary>
    /// How many of the best labels a prediction lists when the request does not say: this many, or every label of a
    /// model that has fewer (a two-label model lists both), so that a request without <c>top_k</c> suits every model.
    /// A <c>top_k</c> the request names must lie between 1 and the model's label count.
    /// </summary>
    [Range(1, 100_000)]
    public int DefaultTopK { get; set; } = 3;

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
}
