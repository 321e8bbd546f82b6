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
///   "WorkerName": "{MachineName}:{ProcessId}",   // recorded on each job this worker runs
///   "HangfireSchema": "hangfire",     // PostgreSQL schema of Hangfire's tables
///   "SweepPollInterval": "00:00:01", // how often a worker moves running hyperparameter sweeps on
///   "MaxLabels": 10000,               // a job with more labels is refused (a label column that holds ids, not intents)
///   "Checkpoints": { "KeepLast": 1, "KeepBest": false },          // checkpoint files a job keeps; older ones are deleted
///   "Maintenance": { "Cron": "17 * * * *", "OrphanGracePeriod": "1.00:00:00" },  // orphan artifact GC and key rotation
///   "TrainingProcess": { "Isolation": "ChildProcess", "MemoryLimitMegabytes": null, "HangTimeout": "00:10:00" }
/// }
/// </code>
/// </summary>
public sealed class JobsOptions : System.ComponentModel.DataAnnotations.IValidatableObject
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

    /// <summary>
    /// Names this worker on the jobs it runs (the job's <c>worker</c>, its events, a takeover's event). Unique per
    /// worker process is what makes it useful: the default, the machine (a pod's name in Kubernetes) and the process id.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Required]
    [System.ComponentModel.DataAnnotations.StringLength(128)]
    [System.ComponentModel.DataAnnotations.RegularExpression(@"^[^\p{C}]*$", ErrorMessage = "Jobs:WorkerName must not contain control characters.")]
    public string WorkerName { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>How often a worker moves running hyperparameter sweeps on (see <see cref="Sweeps.SweepOrchestrator"/>).</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan SweepPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public CheckpointRetentionOptions Checkpoints { get; set; } = new();

    public ArtifactMaintenanceOptions Maintenance { get; set; } = new();

    public TrainingProcessOptions TrainingProcess { get; set; } = new();

    public bool RunsWorker => Role is ProcessRole.All or ProcessRole.Worker;

    public bool ServesApi => Role is ProcessRole.All or ProcessRole.Api;

    public IEnumerable<System.ComponentModel.DataAnnotations.ValidationResult> Validate(System.ComponentModel.DataAnnotations.ValidationContext validationContext)
    {
        if (Checkpoints.KeepLast is < 1 or > 1000)
        {
            yield return new("Jobs:Checkpoints:KeepLast must be between 1 and 1000: resuming a job needs its newest checkpoint.", ["Checkpoints"]);
        }

        if (Maintenance.OrphanGracePeriod < ArtifactMaintenanceOptions.MinimumOrphanGracePeriod)
        {
            yield return new(
                $"Jobs:Maintenance:OrphanGracePeriod must be at least {ArtifactMaintenanceOptions.MinimumOrphanGracePeriod}: a file younger than that may be "
                + "an upload or a checkpoint whose row is about to be written.",
                ["Maintenance"]);
        }

        if (TrainingProcess.MemoryLimitMegabytes is < TrainingProcessOptions.MinimumMemoryLimitMegabytes)
        {
            yield return new(
                $"Jobs:TrainingProcess:MemoryLimitMegabytes must be at least {TrainingProcessOptions.MinimumMemoryLimitMegabytes}, or unset for "
                + $"{TrainingProcessOptions.DefaultMemoryShare:P0} of the memory this process may use.",
                ["TrainingProcess"]);
        }

        if (TrainingProcess.HangTimeout < TimeSpan.FromSeconds(1))
        {
            yield return new("Jobs:TrainingProcess:HangTimeout must be at least one second.", ["TrainingProcess"]);
        }
    }
}

/// <summary>Where a worker trains: in a child process of its own (the default) or inside the worker process.</summary>
public enum TrainingIsolation
{
    /// <summary>
    /// Each job runs in a child process (this executable in its training mode) that the worker supervises: a native
    /// crash, an out-of-memory kill or a hang ends that job only, and the memory it took goes back with the process.
    /// </summary>
    ChildProcess,

    /// <summary>In the worker process itself: no process start per job, but a crash in libtorch ends the worker.</summary>
    InProcess,
}

/// <summary>How a worker supervises the process a job trains in (<c>Jobs:TrainingProcess</c>).</summary>
public sealed class TrainingProcessOptions
{
    /// <summary>The smallest memory limit accepted: the .NET runtime and libtorch alone take about 250 MiB.</summary>
    public const int MinimumMemoryLimitMegabytes = 64;

    /// <summary>Without a configured limit, a job may use this share of the memory available to the worker.</summary>
    public const double DefaultMemoryShare = 0.8;

    public TrainingIsolation Isolation { get; set; } = TrainingIsolation.ChildProcess;

    /// <summary>
    /// The most resident memory a job's process may use before the worker stops it and fails the job with
    /// <c>out_of_memory</c>. Unset: <see cref="DefaultMemoryShare"/> of what this process may use (the container's
    /// limit when there is one), so that a runaway job is stopped before the kernel's out-of-memory killer picks the
    /// worker. Applies to <see cref="TrainingIsolation.ChildProcess"/> only.
    /// </summary>
    public int? MemoryLimitMegabytes { get; set; }

    /// <summary>
    /// A job whose process reports no progress (a training, embedding or validation batch, an epoch, an export phase)
    /// for this long is stopped and failed with <c>training_hung</c>. Applies to <see cref="TrainingIsolation.ChildProcess"/> only.
    /// </summary>
    public TimeSpan HangTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The limit in bytes, resolved against <paramref name="availableBytes"/> when none is configured.</summary>
    public long MemoryLimitBytes(long availableBytes) =>
        MemoryLimitMegabytes is { } megabytes ? megabytes * 1024L * 1024L : (long)(availableBytes * DefaultMemoryShare);
}

/// <summary>
/// Which checkpoint files a job keeps (<c>Jobs:Checkpoints</c>); the rows of the others stay as the job's history,
/// with no file. Each checkpoint already holds the best weights so far besides the last ones, so the newest alone is
/// all that resuming and publishing need.
/// </summary>
public sealed class CheckpointRetentionOptions
{
    /// <summary>How many of the newest checkpoint files to keep (at least 1: resume reads the newest).</summary>
    public int KeepLast { get; set; } = 1;

    /// <summary>Also keep the file of the epoch with the best validation macro-F1 (the trainer's own criterion), when it is not among the newest.</summary>
    public bool KeepBest { get; set; }
}

/// <summary>The recurring artifact maintenance job (<c>Jobs:Maintenance</c>): orphan collection and encryption key rotation.</summary>
public sealed class ArtifactMaintenanceOptions
{
    /// <summary>The shortest grace period accepted.</summary>
    public static readonly TimeSpan MinimumOrphanGracePeriod = TimeSpan.FromMinutes(10);

    /// <summary>When it runs, as a cron expression (UTC); empty turns the recurring job off. Default: hourly, at minute 17.</summary>
    public string? Cron { get; set; } = "17 * * * *";

    /// <summary>
    /// A file no row references is deleted only once it is older than this: a write is stored first and recorded
    /// after, so a younger file may be one whose row is being written.
    /// </summary>
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromDays(1);
}
