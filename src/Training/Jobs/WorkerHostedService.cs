using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Training.Jobs;

/// <summary>
/// Runs a Hangfire server in this process when <see cref="JobsOptions.Role"/> includes the worker. On shutdown the
/// server cancels the token its running jobs hold; a training job then checkpoints and leaves its row queued for
/// the next worker, which resumes it.
/// </summary>
internal sealed partial class WorkerHostedService(
    JobStorage storage,
    JobActivator activator,
    IOptions<JobsOptions> options,
    IOptions<TextClassification.Persistence.PersistenceOptions> persistence,
    ILogger<WorkerHostedService> logger) : IHostedService, IDisposable
{
    private BackgroundJobServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var jobs = options.Value;
        if (!jobs.RunsWorker)
        {
            LogNoWorker(logger, jobs.Role);
            return Task.CompletedTask;
        }

        _server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                WorkerCount = jobs.WorkerCount,
                ShutdownTimeout = TimeSpan.FromSeconds(jobs.ShutdownTimeoutSeconds),
                // How often Hangfire checks whether a running job was cancelled or its server is stopping;
                // the job's own cancel flag is polled between batches on top of this.
                CancellationCheckInterval = TimeSpan.FromMilliseconds(500),
                ServerName = $"{Environment.MachineName}:{Environment.ProcessId}",
                Activator = activator,
            },
            storage);
        ArtifactMaintenanceJob.Schedule(storage, jobs, persistence.Value);
        LogStarted(logger, jobs.WorkerCount);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            return;
        }

        _server.SendStop();
        await _server.WaitForShutdownAsync(cancellationToken);
    }

    public void Dispose() => _server?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Background job worker started with {WorkerCount} worker(s)")]
    private static partial void LogStarted(ILogger logger, int workerCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "This process runs no background jobs (Jobs:Role={Role})")]
    private static partial void LogNoWorker(ILogger logger, ProcessRole role);
}
