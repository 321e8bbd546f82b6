using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>
/// At start-up, gives back to Hangfire every job the database says is queued or running but Hangfire no longer
/// holds (always the case after a restart on in-memory storage, and possible after a storage reset on PostgreSQL),
/// so a restart loses nothing. Runs after <c>DatabaseMigrationService</c>, which is registered before it.
/// </summary>
internal sealed partial class BackgroundJobRecoveryService(
    IServiceScopeFactory scopes,
    JobStorage storage,
    IOptions<JobsOptions> jobsOptions,
    IOptions<PersistenceOptions> persistenceOptions,
    ILogger<BackgroundJobRecoveryService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!jobsOptions.Value.RunsWorker)
        {
            return;
        }

        // With in-memory storage this process is the only worker there is, so any lease on a row was held by a
        // process that no longer exists; with PostgreSQL another worker may hold it, and its lease is respected.
        bool onlyWorker = persistenceOptions.Value.Provider == DatabaseProvider.Sqlite;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var scheduler = scope.ServiceProvider.GetRequiredService<FineTuningJobScheduler>();
        var active = await db.FineTuningJobs
            .Where(j => j.Status == FineTuningJobStatus.Queued || j.Status == FineTuningJobStatus.Running)
            .OrderBy(j => j.Id)
            .ToListAsync(cancellationToken);

        using var connection = storage.GetConnection();
        foreach (var job in active)
        {
            if (IsHeldByHangfire(connection, job.BackgroundJobId))
            {
                continue;
            }

            if (onlyWorker && job.LeaseOwner is not null)
            {
                job.LeaseOwner = null;
                job.LeaseExpiresAt = null;
                job.ConcurrencyStamp = Guid.NewGuid();
                await db.SaveChangesAsync(cancellationToken);
            }

            await scheduler.EnqueueAsync(job, cancellationToken);
            LogRecovered(logger, job.Id, job.Status);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static readonly HashSet<string> LiveStates =
        [EnqueuedState.StateName, ProcessingState.StateName, ScheduledState.StateName, AwaitingState.StateName];

    private static bool IsHeldByHangfire(Hangfire.Storage.IStorageConnection connection, string? backgroundJobId)
    {
        if (backgroundJobId is null)
        {
            return false;
        }

        var state = connection.GetJobData(backgroundJobId)?.State;
        return state is not null && LiveStates.Contains(state);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tuning job {JobId} was {Status} in the database but unknown to the job queue; enqueued it again")]
    private static partial void LogRecovered(ILogger logger, string jobId, FineTuningJobStatus status);
}
