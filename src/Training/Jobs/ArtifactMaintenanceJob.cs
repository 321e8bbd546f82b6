using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;

namespace TextClassification.Training.Jobs;

/// <summary>
/// The recurring Hangfire job that keeps the artifact store tidy (<c>Jobs:Maintenance</c>): it re-encrypts files still
/// under a previous encryption key, then deletes orphan files. Both steps are re-entrant, so a run cut short by a
/// stopping worker is simply finished by the next one. What each step did is logged.
/// </summary>
public sealed partial class ArtifactMaintenanceJob(
    ArtifactKeyRotation rotation,
    OrphanArtifactCollector collector,
    IOptions<JobsOptions> jobs,
    ILogger<ArtifactMaintenanceJob> logger)
{
    /// <summary>The recurring job's id in Hangfire (and on its dashboard).</summary>
    public const string RecurringJobId = "artifact-maintenance";

    /// <summary>Registers (or, with an empty cron, removes) the recurring job; starts a run at once when a key rotation is pending.</summary>
    internal static void Schedule(JobStorage storage, JobsOptions jobs, PersistenceOptions persistence)
    {
        var manager = new RecurringJobManager(storage);
        if (string.IsNullOrWhiteSpace(jobs.Maintenance.Cron))
        {
            manager.RemoveIfExists(RecurringJobId);
            return;
        }

        manager.AddOrUpdate<ArtifactMaintenanceJob>(RecurringJobId, job => job.RunAsync(CancellationToken.None), jobs.Maintenance.Cron,
            new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        if (persistence.ResolveEncryptionKeys().Previous.Count > 0)
        {
            manager.Trigger(RecurringJobId);
        }
    }

    /// <summary>One run; Hangfire passes the token it cancels when the worker stops.</summary>
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    [AutomaticRetry(Attempts = 0, LogEvents = false)]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (rotation.IsPending())
        {
            await rotation.RunAsync(cancellationToken);
        }

        var report = await collector.RunAsync(jobs.Value.Maintenance.OrphanGracePeriod, cancellationToken);
        LogDone(logger, report.Deleted, report.FreedBytes);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact maintenance done: {Deleted} orphan file(s), {Bytes} bytes freed")]
    private static partial void LogDone(ILogger logger, int deleted, long bytes);
}
