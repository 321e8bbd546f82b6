namespace TextClassification.Training.Jobs;

/// <summary>What this process does: serve the API, run background jobs, or both (the default).</summary>
public enum ProcessRole
{
    All,
    Api,
    Worker,
}

/// <summary>
/// Background job processing. Bound from the <c>Jobs</c> section:
/// <code>
/// "Jobs": {
///   "Role": "All" | "Api" | "Worker",
///   "WorkerCount": 1,                 // concurrent jobs per process; training already uses every core
///   "LeaseSeconds": 60,               // a job's lease on its row, renewed while it runs
///   "ShutdownTimeoutSeconds": 30,     // how long a stopping worker waits for its job to checkpoint and yield
///   "HangfireSchema": "hangfire",     // PostgreSQL schema of Hangfire's tables
///   "MaxLabels": 10000                // a job with more labels is refused (a label column that holds ids, not intents)
/// }
/// </code>
/// </summary>
public sealed class JobsOptions
{
    public const string SectionName = "Jobs";

    public ProcessRole Role { get; set; } = ProcessRole.All;

    [System.ComponentModel.DataAnnotations.Range(1, 64)]
    public int WorkerCount { get; set; } = 1;

    /// <summary>Most labels (besides the out-of-scope label) a job trains; more is refused at creation with 422.</summary>
    [System.ComponentModel.DataAnnotations.Range(2, 1_000_000)]
    public int MaxLabels { get; set; } = 10_000;

    [System.ComponentModel.DataAnnotations.Range(5, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    [System.ComponentModel.DataAnnotations.Range(1, 600)]
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    public string HangfireSchema { get; set; } = "hangfire";

    public bool RunsWorker => Role is ProcessRole.All or ProcessRole.Worker;

    public bool ServesApi => Role is ProcessRole.All or ProcessRole.Api;
}
