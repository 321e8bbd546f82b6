using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>The answer to "may this worker run the job now?".</summary>
public enum LeaseClaim
{
    /// <summary>This worker holds the job; it must renew the lease while it works.</summary>
    Claimed,

    /// <summary>The job has ended (or been cancelled while queued); there is nothing to do.</summary>
    Ended,

    /// <summary>Another worker holds a live lease: this delivery is a duplicate and must not train.</summary>
    HeldElsewhere,
}

/// <summary>
/// A worker's claim on a job's row. Hangfire delivers a job at least once, and after a crash or an invisibility
/// timeout it may deliver it again while the first execution still runs; the lease makes the row decide who trains.
/// Every write goes through the row's concurrency token, so two workers can never both believe they hold it.
/// </summary>
public sealed class JobLease(IServiceScopeFactory scopes, TimeProvider clock, IOptions<JobsOptions> options)
{
    /// <summary>
    /// Identifies the holder: the machine, the process and a random part. A job's training child process is given its
    /// worker's owner, so that its writes pass the same lease checks as the worker's own.
    /// </summary>
    public string Owner { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public TimeSpan Duration => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    /// <summary>When the current holder's lease runs out, for a duplicate delivery to retry after.</summary>
    public DateTimeOffset? HeldUntil { get; private set; }

    /// <summary>Takes the job if it is queued or running with no live lease, marking it running.</summary>
    public async Task<LeaseClaim> ClaimAsync(string jobId, string device, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var job = await db.FineTuningJobs.SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
            if (job is null || !job.IsActive)
            {
                return LeaseClaim.Ended;
            }

            var now = clock.GetUtcNow();
            if (job.LeaseOwner is not null && job.LeaseOwner != Owner && job.LeaseExpiresAt > now)
            {
                HeldUntil = job.LeaseExpiresAt;
                return LeaseClaim.HeldElsewhere;
            }

            bool resuming = job.Status == FineTuningJobStatus.Running || job.Attempts > 0;
            string worker = options.Value.WorkerName;
            job.LeaseOwner = Owner;
            job.LeaseExpiresAt = now + Duration;
            job.Status = FineTuningJobStatus.Running;
            job.StartedAt ??= now;
            job.Device = device;
            job.Worker = worker;
            job.Attempts++;
            job.ConcurrencyStamp = Guid.NewGuid();
            db.JobEvents.Add(NewStatusEvent(job.Id, worker, device, resuming
                ? $"Job running on {worker} ({device}; attempt {job.Attempts}, resuming)."
                : $"Job running on {worker} ({device})."));
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return LeaseClaim.Claimed;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
                // Someone wrote the row in between (a cancel, another worker): read it again and decide again.
            }
        }
    }

    /// <summary>
    /// Extends the lease and reports whether a cancel was requested. Returns null when the lease was lost (another
    /// worker took over after this one stalled past its lease): the caller must stop without writing further.
    /// </summary>
    public async Task<bool?> RenewAsync(string jobId, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var job = await db.FineTuningJobs.SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
            if (job is null || job.LeaseOwner != Owner || !job.IsActive)
            {
                return null;
            }

            job.LeaseExpiresAt = clock.GetUtcNow() + Duration;
            job.ConcurrencyStamp = Guid.NewGuid();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return job.CancelRequested;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>Reads the cancel flag; null when this worker no longer holds the job.</summary>
    public async Task<bool?> IsCancelRequestedAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var row = await db.FineTuningJobs.AsNoTracking()
            .Where(j => j.Id == jobId)
            .Select(j => new { j.LeaseOwner, j.CancelRequested, j.Status })
            .SingleOrDefaultAsync(cancellationToken);
        return row is null || row.LeaseOwner != Owner || row.Status is not (FineTuningJobStatus.Queued or FineTuningJobStatus.Running)
            ? null
            : row.CancelRequested;
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the job's row if this worker still holds it, then releases the lease
    /// when <paramref name="release"/> is set. Returns false if the lease had been lost.
    /// </summary>
    public async Task<bool> UpdateAsync(string jobId, Action<FineTuningJob, ServiceDbContext> change, bool release, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var job = await db.FineTuningJobs.SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
            if (job is null || job.LeaseOwner != Owner)
            {
                return false;
            }

            change(job, db);
            if (release)
            {
                job.LeaseOwner = null;
                job.LeaseExpiresAt = null;
            }

            job.ConcurrencyStamp = Guid.NewGuid();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return true;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
            }
        }
    }

    private JobEvent NewStatusEvent(string jobId, string worker, string device, string message) => new()
    {
        JobId = jobId,
        CreatedAt = clock.GetUtcNow(),
        Level = "info",
        Type = JobEventTypes.StatusChanged,
        Message = message,
        DataJson = JobEventLog.Serialize(new { status = "running", worker, device }),
    };
}
