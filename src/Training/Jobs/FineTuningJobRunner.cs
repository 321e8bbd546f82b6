using Hangfire;
using Microsoft.Extensions.Logging;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>
/// The Hangfire entry point of a fine-tuning job. It takes only the job id and decides everything from the job's
/// row: it claims a lease (a duplicate delivery exits), keeps the lease alive and watches the cancel flag while
/// <see cref="IFineTuningJobExecution"/> trains (in a child process by default), and writes exactly one outcome. A
/// worker shutdown puts the job back in the queue, and the next worker resumes it from its last checkpoint.
/// </summary>
/// <remarks>
/// Retries are for infrastructure failures only (the database unreachable mid-job); failures of the job itself are
/// recorded as <c>failed</c> and not retried. Every retry resumes from the last checkpoint.
/// </remarks>
[AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
public sealed partial class FineTuningJobRunner(
    JobLease lease,
    TrainingDevice trainingDevice,
    IFineTuningJobExecution execution,
    IBackgroundJobClient backgroundJobs,
    JobEventLog events,
    TimeProvider clock,
    ILogger<FineTuningJobRunner> logger)
{
    /// <summary>How often the worker looks at the job's cancel flag; cancel must take effect within two seconds.</summary>
    private static readonly TimeSpan CancelPollInterval = TimeSpan.FromMilliseconds(400);

    [JobDisplayName("Fine-tuning job {0}")]
    public async Task RunAsync(string jobId, CancellationToken shutdownToken)
    {
        string device = trainingDevice.Name;
        switch (await lease.ClaimAsync(jobId, device, shutdownToken))
        {
            case LeaseClaim.Ended:
                return;
            case LeaseClaim.HeldElsewhere:
                // A duplicate delivery: look again once the holder's lease would have run out, in case it died.
                var retryIn = (lease.HeldUntil ?? clock.GetUtcNow()) - clock.GetUtcNow() + TimeSpan.FromSeconds(1);
                backgroundJobs.Schedule<FineTuningJobRunner>(runner => runner.RunAsync(jobId, CancellationToken.None), retryIn);
                LogDuplicate(logger, jobId, retryIn.TotalSeconds);
                return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(shutdownToken);
        var watch = new LeaseWatch();
        using var watcherStop = new CancellationTokenSource();
        var watcher = WatchLeaseAsync(jobId, watch, stop, watcherStop.Token);
        try
        {
            var outcome = await execution.ExecuteAsync(jobId, stop.Token);
            await StopWatchingAsync(watcherStop, watcher);
            await lease.UpdateAsync(jobId, (job, db) =>
            {
                job.Status = FineTuningJobStatus.Succeeded;
                job.FinishedAt = clock.GetUtcNow();
                job.ResultModel = outcome.Version is null ? null : outcome.Model;
                job.ResultVersion = outcome.Version;
                db.JobEvents.Add(events.NewEvent(jobId, "info", JobEventTypes.StatusChanged,
                    outcome.Version is null
                        ? $"Job succeeded; as a trial of sweep {job.SweepId} it registers no version unless its sweep does."
                        : $"Job succeeded: published {outcome.Model} version {outcome.Version}.",
                    new { status = "succeeded", outcome.Model, outcome.Version }));
            }, release: true, CancellationToken.None);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await StopWatchingAsync(watcherStop, watcher);
            if (watch.LeaseLost)
            {
                LogLeaseLost(logger, jobId);
                return;
            }

            if (watch.CancelRequested)
            {
                await lease.UpdateAsync(jobId, (job, db) =>
                {
                    job.Status = FineTuningJobStatus.Cancelled;
                    job.FinishedAt = clock.GetUtcNow();
                    db.JobEvents.Add(events.NewEvent(jobId, "info", JobEventTypes.StatusChanged, "Job cancelled.", new { status = "cancelled" }));
                }, release: true, CancellationToken.None);
                return;
            }

            // The worker is shutting down: hand the job back, to be resumed from its last checkpoint.
            await lease.UpdateAsync(jobId, (job, db) =>
            {
                job.Status = FineTuningJobStatus.Queued;
                db.JobEvents.Add(events.NewEvent(jobId, "warning", JobEventTypes.StatusChanged,
                    "The worker stopped; the job is queued again and resumes from its last checkpoint.", new { status = "queued" }));
            }, release: true, CancellationToken.None);
            throw;
        }
        catch (Exception e) when (Describe(e) is { } failure)
        {
            await StopWatchingAsync(watcherStop, watcher);
            LogFailed(logger, e, jobId, failure.Code);
            await lease.UpdateAsync(jobId, (job, db) =>
            {
                job.Status = FineTuningJobStatus.Failed;
                job.FinishedAt = clock.GetUtcNow();
                job.ErrorCode = failure.Code;
                job.ErrorMessage = failure.Message;
                db.JobEvents.Add(events.NewEvent(jobId, "error", JobEventTypes.StatusChanged, $"Job failed: {failure.Message}",
                    new { status = "failed", code = failure.Code }));
            }, release: true, CancellationToken.None);
        }
        finally
        {
            await StopWatchingAsync(watcherStop, watcher);
        }
    }

    /// <summary>
    /// Which exceptions end the job as failed. Database and storage outages are not the job's fault: they propagate,
    /// the lease runs out, and Hangfire's retry resumes the job from its checkpoint.
    /// </summary>
    internal static (string Code, string Message)? Describe(Exception e) => e switch
    {
        TrainingFailedException failed => (failed.Code, failed.Message),
        ArtifactIntegrityException or ArtifactNotFoundException => (TrainingFailedException.ArtifactCorrupted, e.Message),
        OutOfMemoryException => (TrainingFailedException.OutOfMemory, "The worker ran out of memory; try a smaller batch_size or max_sequence_length."),
        System.Runtime.InteropServices.ExternalException when e.Message.Contains("memory", StringComparison.OrdinalIgnoreCase)
            => (TrainingFailedException.OutOfMemory, $"The training library ran out of memory ({FirstLine(e.Message)}); try a smaller batch_size or max_sequence_length."),
        System.Data.Common.DbException or TimeoutException => null,
        IOException => null,
        _ => ("internal_error", $"Training failed unexpectedly: {FirstLine(e.Message)}"),
    };

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private async Task WatchLeaseAsync(string jobId, LeaseWatch watch, CancellationTokenSource stop, CancellationToken watcherToken)
    {
        var renewEvery = lease.Duration / 3;
        var lastRenewal = clock.GetUtcNow();
        while (!watcherToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(CancelPollInterval, clock, watcherToken);
                bool renew = clock.GetUtcNow() - lastRenewal >= renewEvery;
                bool? cancelRequested = renew
                    ? await lease.RenewAsync(jobId, watcherToken)
                    : await lease.IsCancelRequestedAsync(jobId, watcherToken);
                if (renew && cancelRequested is not null)
                {
                    lastRenewal = clock.GetUtcNow();
                }

                if (cancelRequested is null)
                {
                    watch.LeaseLost = true;
                    await stop.CancelAsync();
                    return;
                }

                if (cancelRequested.Value)
                {
                    watch.CancelRequested = true;
                    await stop.CancelAsync();
                    return;
                }
            }
            catch (OperationCanceledException) when (watcherToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                // The database is briefly unreachable: keep training; the lease is renewed on the next poll.
                LogWatchFailed(logger, e, jobId);
            }
        }
    }

    private static async Task StopWatchingAsync(CancellationTokenSource watcherStop, Task watcher)
    {
        if (!watcherStop.IsCancellationRequested)
        {
            await watcherStop.CancelAsync();
        }

        await watcher;
    }

    private sealed class LeaseWatch
    {
        public volatile bool CancelRequested;
        public volatile bool LeaseLost;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tuning job {JobId} is held by another worker; looking again in {Seconds:F0} s")]
    private static partial void LogDuplicate(ILogger logger, string jobId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tuning job {JobId}: the lease was lost to another worker; this execution stops")]
    private static partial void LogLeaseLost(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fine-tuning job {JobId} failed ({Code})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string jobId, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fine-tuning job {JobId}: could not check the lease; training continues")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string jobId);
}
