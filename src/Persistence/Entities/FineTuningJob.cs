namespace TextClassification.Persistence.Entities;

/// <summary>
/// A fine-tuning job: its request, its lifecycle and what it produced. The row is the source of truth for the
/// job's state; Hangfire only carries the job id to a worker.
/// </summary>
public sealed class FineTuningJob
{
    public required string Id { get; init; }

    public FineTuningJobStatus Status { get; set; } = FineTuningJobStatus.Queued;

    /// <summary>The registry name the result is published under.</summary>
    public required string Model { get; init; }

    /// <summary><c>name:version</c> of the model version training starts from, if any.</summary>
    public string? BaseModel { get; init; }

    public required string Architecture { get; init; }

    /// <summary>
    /// <c>name:version</c> of the registered model the job distils from (its teacher): the student learns from the
    /// teacher's softened probabilities as well as from the labels. Null for an ordinary job.
    /// </summary>
    public string? DistillFrom { get; init; }

    /// <summary>A dataset whose texts (labels ignored) the teacher scores for the student besides the training texts.</summary>
    public string? UnlabelledDatasetId { get; init; }

    /// <summary>The resolved hyperparameters (defaults filled in), as JSON in snake_case.</summary>
    public required string HyperparametersJson { get; init; }

    public required string TrainingDatasetId { get; init; }

    public string? ValidationDatasetId { get; init; }

    public double? ValidationSplit { get; init; }

    public string? OutOfScopeLabel { get; init; }

    /// <summary>
    /// How the exported model is quantized: null for float32 only, <c>dynamic_int8</c> to also write (and serve) a
    /// dynamically quantized graph, with its accuracy and speed change measured against the float32 one.
    /// </summary>
    public string? Quantization { get; init; }

    /// <summary>The device the job trains on, such as <c>cpu</c> or <c>cuda:0</c>; set when it starts.</summary>
    public string? Device { get; set; }

    /// <summary>
    /// The worker (<c>Jobs:WorkerName</c>) that last claimed the job: the one running it, or the one that ran it to its
    /// end. A job taken over from a dead worker names the worker that took it.
    /// </summary>
    public string? Worker { get; set; }

    /// <summary>Latest progress as JSON (epoch, step, fraction, ETA).</summary>
    public string? ProgressJson { get; set; }

    /// <summary>Latest metrics as JSON (train and validation loss, accuracy, macro-F1).</summary>
    public string? MetricsJson { get; set; }

    /// <summary>The full evaluation on the validation data once training ends, as JSON.</summary>
    public string? EvaluationJson { get; set; }

    public string? ResultModel { get; set; }

    public int? ResultVersion { get; set; }

    public string? ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>Set by the cancel endpoint; the worker polls it between batches.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>The worker that holds the job, so that a second delivery of the same job exits.</summary>
    public string? LeaseOwner { get; set; }

    /// <summary>Until when <see cref="LeaseOwner"/> holds the job; the holder renews it while it works.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    /// <summary>The Hangfire job that carries this job to a worker, used at start-up to find jobs Hangfire lost.</summary>
    public string? BackgroundJobId { get; set; }

    /// <summary>How many times a worker has started this job (resumes included).</summary>
    public int Attempts { get; set; }

    /// <summary>The hyperparameter sweep this job is a trial of, if any.</summary>
    public string? SweepId { get; init; }

    /// <summary>
    /// Trials of a sweep register no version when they end: the job keeps the version it would have registered here
    /// (its stored artifacts and metrics, as JSON) until the sweep registers its best trial's. Null once registered or
    /// for an ordinary job.
    /// </summary>
    public string? PendingVersionJson { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Optimistic concurrency token: the cancel endpoint and the worker write the same row.</summary>
    public Guid ConcurrencyStamp { get; set; } = Guid.NewGuid();

    public bool IsActive => Status is FineTuningJobStatus.Queued or FineTuningJobStatus.Running;
}

public enum FineTuningJobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}
