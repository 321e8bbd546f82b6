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
    private readonly Lock _gate = new();
    private BackgroundJobServer? _server;
    private Task? _shutdown;

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

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            return Task.CompletedTask;
        }

        return Shutdown().WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Waits for the server's shutdown before disposing it. The host may be stopped twice at once and disposed while
    /// the first stop still waits (a test host stops it, and the entry point's <c>RunAsync</c> stops and disposes it
    /// when the lifetime ends); disposing Hangfire's server under a waiting <c>WaitForShutdownAsync</c> throws
    /// <see cref="ObjectDisposedException"/> from the wait, so every path shares one shutdown and disposes after it.
    /// </summary>
    public void Dispose()
    {
        if (_server is null)
        {
            return;
        }

        try
        {
            // Bounded: Hangfire's ShutdownTimeout aborts jobs that ignore their token well before this.
            Shutdown().Wait(TimeSpan.FromSeconds(options.Value.ShutdownTimeoutSeconds) + TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The stop that awaited the shutdown saw the failure; disposing still releases the server's resources.
        }

        _server.Dispose();
    }

    private Task Shutdown()
    {
        lock (_gate)
        {
            return _shutdown ??= StopServerAsync(_server!);
        }

        static async Task StopServerAsync(BackgroundJobServer server)
        {
            server.SendStop();
            await server.WaitForShutdownAsync(CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Background job worker started with {WorkerCount} worker(s)")]
    private static partial void LogStarted(ILogger logger, int workerCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "This process runs no background jobs (Jobs:Role={Role})")]
    private static partial void LogNoWorker(ILogger logger, ProcessRole role);
}
