using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>
/// Gives a job whose worker died back to the queue as soon as the worker's lease on it runs out, rather than when
/// Hangfire's invisibility timeout (minutes) delivers it again. Every worker process on PostgreSQL polls for running
/// jobs with an expired lease; whichever first writes the row through its concurrency token queues the job again,
/// with a fresh Hangfire delivery, and the worker that claims it resumes from the last checkpoint.
/// </summary>
/// <remarks>
/// With SQLite this process is the only worker, so there is no other worker to take over from; a restart is handled by
/// <see cref="BackgroundJobRecoveryService"/>. A holder that is alive but could not renew for a whole lease (the
/// database out of reach) loses the job the same way: its next renewal finds the lease gone, and it stops without
/// writing. The dead worker's own Hangfire delivery stays in Hangfire's queue until its invisibility timeout; then
/// <see cref="JobLease.ClaimAsync"/> finds the job ended (it exits) or held (it looks again after that lease), and if
/// queueing the fresh delivery failed, that late delivery is what still runs the job. Lease times are written by the
/// holder's clock and read by the poller's, so the workers' clocks must agree to well within a third of the lease (NTP).
/// </remarks>
public sealed partial class ExpiredLeaseTakeover(
    IServiceScopeFactory scopes,
    JobEventLog events,
    TimeProvider clock,
    IOptions<JobsOptions> jobsOptions,
    IOptions<PersistenceOptions> persistenceOptions,
    ILogger<ExpiredLeaseTakeover> logger) : BackgroundService
{
    /// <summary>
    /// How often a worker looks for expired leases: a tenth of the lease, between 1 and 5 seconds. A job therefore
    /// waits for its dead worker's lease to run out (two thirds of a lease to a whole one, as renewals come every
    /// third) plus at most this, plus the queue's pick-up of about a second. Each poll is one indexed query.
    /// </summary>
    public static TimeSpan PollInterval(int leaseSeconds) => TimeSpan.FromSeconds(Math.Clamp(leaseSeconds / 10.0, 1, 5));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var jobs = jobsOptions.Value;
        if (!jobs.RunsWorker || persistenceOptions.Value.Provider != DatabaseProvider.PostgreSql)
        {
            return;
        }

        var interval = PollInterval(jobs.LeaseSeconds);
        LogPolling(logger, jobs.WorkerName, interval.TotalSeconds);
        using var timer = new PeriodicTimer(interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await TakeOverExpiredLeasesAsync(stoppingToken);
                }
                catch (Exception e) when ((e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                                          && !stoppingToken.IsCancellationRequested)
                {
                    // The database (or Hangfire's storage, the same server) is briefly out of reach: try at the next tick.
                    LogPollFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Queues again every running job whose lease has run out (ending it as cancelled instead when a cancel was
    /// requested), and returns the ids this call changed. A job that another poller, its holder or a cancel wrote in
    /// the meantime is left to them.
    /// </summary>
    public async Task<IReadOnlyList<string>> TakeOverExpiredLeasesAsync(CancellationToken cancellationToken)
    {
        List<string> expired;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var now = clock.GetUtcNow();
            expired = await db.FineTuningJobs.AsNoTracking()
                .Where(j => j.Status == FineTuningJobStatus.Running && j.LeaseExpiresAt < now)
                .OrderBy(j => j.Id)
                .Select(j => j.Id)
                .ToListAsync(cancellationToken);
        }

        var changed = new List<string>();
        foreach (string jobId in expired)
        {
            if (await TakeOverAsync(jobId, cancellationToken))
            {
                changed.Add(jobId);
            }
        }

        return changed;
    }

    private async Task<bool> TakeOverAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var job = await db.FineTuningJobs.SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        var now = clock.GetUtcNow();
        if (job is not { Status: FineTuningJobStatus.Running, LeaseExpiresAt: { } expiredAt } || expiredAt >= now)
        {
            return false;
        }

        string holder = job.Worker ?? job.LeaseOwner ?? "unknown";
        string lapse = $"The lease of worker {holder} ran out at {expiredAt.UtcDateTime:HH:mm:ss} UTC with no renewal";
        string releasedBy = jobsOptions.Value.WorkerName;
        if (job.CancelRequested)
        {
            // Resuming only to stop at once would cost a worker a checkpoint load; the cancel is what was asked for.
            job.Status = FineTuningJobStatus.Cancelled;
            job.FinishedAt = now;
            db.JobEvents.Add(events.NewEvent(jobId, "info", JobEventTypes.StatusChanged,
                $"{lapse}; a cancel had been requested, so the job is cancelled.",
                new { status = "cancelled", worker = holder, leaseExpiredAt = expiredAt, releasedBy }));
        }
        else
        {
            job.Status = FineTuningJobStatus.Queued;
            db.JobEvents.Add(events.NewEvent(jobId, "warning", JobEventTypes.StatusChanged,
                $"{lapse}; the job is queued again and resumes from its last checkpoint.",
                new { status = "queued", worker = holder, leaseExpiredAt = expiredAt, releasedBy }));
        }

        job.LeaseOwner = null;
        job.LeaseExpiresAt = null;
        job.ConcurrencyStamp = Guid.NewGuid();
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Another worker's poller took it first, its holder renewed after all, or a cancel came in: theirs stands.
            return false;
        }

        LogTakenOver(logger, jobId, holder, expiredAt, job.Status);
        if (job.Status == FineTuningJobStatus.Queued)
        {
            await scope.ServiceProvider.GetRequiredService<FineTuningJobScheduler>().EnqueueAsync(job, cancellationToken);
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerName} takes over jobs whose lease runs out, checking every {Seconds:F0} s")]
    private static partial void LogPolling(ILogger logger, string workerName, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tuning job {JobId}: the lease of worker {Worker} ran out at {ExpiredAt:O}; the job is now {Status}")]
    private static partial void LogTakenOver(ILogger logger, string jobId, string worker, DateTimeOffset expiredAt, FineTuningJobStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for jobs whose lease ran out; trying again at the next poll")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
