using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>
/// Puts fine-tuning jobs on Hangfire's queue and takes them off. The job's row is written first and is the source of
/// truth; Hangfire carries only the job id, and the Hangfire job id is kept on the row so lost deliveries can be
/// found (see <see cref="BackgroundJobRecoveryService"/>).
/// </summary>
public sealed partial class FineTuningJobScheduler(
    ServiceDbContext db,
    IBackgroundJobClient backgroundJobs,
    JobEventLog events,
    TimeProvider clock,
    ILogger<FineTuningJobScheduler> logger)
{
    /// <summary>Saves a new job as queued, with its first event, and hands its id to a worker.</summary>
    public async Task<FineTuningJob> SubmitAsync(FineTuningJob job, CancellationToken cancellationToken)
    {
        db.FineTuningJobs.Add(job);
        db.JobEvents.Add(events.NewEvent(job.Id, "info", JobEventTypes.StatusChanged, "Job created and queued.", new { status = "queued" }));
        await db.SaveChangesAsync(cancellationToken);
        await EnqueueAsync(job, cancellationToken);
        return job;
    }

    /// <summary>Gives the job to Hangfire and records the delivery on the row.</summary>
    public async Task EnqueueAsync(FineTuningJob job, CancellationToken cancellationToken)
    {
        string backgroundJobId = backgroundJobs.Enqueue<FineTuningJobRunner>(runner => runner.RunAsync(job.Id, CancellationToken.None));
        // A worker may claim the job (and change its concurrency stamp) before this line runs, so the delivery id is
        // written on its own, outside the optimistic check: it is the one column no one else writes.
        await db.FineTuningJobs.Where(j => j.Id == job.Id)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.BackgroundJobId, backgroundJobId), cancellationToken);
        var entry = db.Entry(job);
        if (entry.State != EntityState.Detached)
        {
            entry.Property(j => j.BackgroundJobId).CurrentValue = backgroundJobId;
            entry.Property(j => j.BackgroundJobId).OriginalValue = backgroundJobId;
        }
        else
        {
            job.BackgroundJobId = backgroundJobId;
        }

        LogEnqueued(logger, job.Id, backgroundJobId);
    }

    /// <summary>
    /// Cancels a job. A queued job is cancelled at once; a running one gets its cancel flag set, which the worker
    /// polls and acts on between batches. Ended jobs are returned unchanged.
    /// </summary>
    public async Task<FineTuningJob> CancelAsync(FineTuningJob job, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (!job.IsActive || job.CancelRequested)
            {
                return job;
            }

            if (job.Status == FineTuningJobStatus.Queued && job.LeaseOwner is null)
            {
                job.Status = FineTuningJobStatus.Cancelled;
                job.FinishedAt = clock.GetUtcNow();
                db.JobEvents.Add(events.NewEvent(job.Id, "info", JobEventTypes.StatusChanged, "Job cancelled before it started.", new { status = "cancelled" }));
            }
            else
            {
                job.CancelRequested = true;
                db.JobEvents.Add(events.NewEvent(job.Id, "info", JobEventTypes.Message, "Cancellation requested; the job stops at the next batch."));
            }

            job.ConcurrencyStamp = Guid.NewGuid();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                break;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
                // The worker wrote the row in between (it started, or finished): decide again on what it wrote.
                db.ChangeTracker.Clear();
                job = await db.FineTuningJobs.SingleAsync(j => j.Id == job.Id, cancellationToken);
            }
        }

        if (job.Status == FineTuningJobStatus.Cancelled && job.BackgroundJobId is not null)
        {
            backgroundJobs.ChangeState(job.BackgroundJobId, new DeletedState(), null);
        }

        return job;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tuning job {JobId} enqueued as background job {BackgroundJobId}")]
    private static partial void LogEnqueued(ILogger logger, string jobId, string? backgroundJobId);
}
