using Hangfire;
using Hangfire.InMemory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Training.Jobs;

namespace TextClassification.Training.Tests.Jobs;

public sealed class WorkerHostedServiceTests
{
    /// <summary>
    /// What a minimal-hosting host does when it is stopped from outside (a test host, a service manager): the stop
    /// waits for the Hangfire server's shutdown while the entry point's <c>RunAsync</c>, woken by the same stop,
    /// disposes the host. Disposing the server under the wait used to throw <see cref="ObjectDisposedException"/>
    /// from it, or leave it waiting for a signal that never came.
    /// </summary>
    [Fact]
    public async Task A_worker_disposed_while_its_stop_waits_stops_cleanly()
    {
        using var storage = new InMemoryStorage();
        for (int round = 0; round < 5; round++)
        {
            var worker = new WorkerHostedService(
                storage,
                new JobActivator(),
                Options.Create(new JobsOptions { Role = ProcessRole.Worker, WorkerCount = 1, ShutdownTimeoutSeconds = 5 }),
                Options.Create(new PersistenceOptions()),
                NullLogger<WorkerHostedService>.Instance);
            await worker.StartAsync(CancellationToken.None);

            var stopping = worker.StopAsync(CancellationToken.None);
            var disposing = Task.Run(worker.Dispose);

            await stopping.WaitAsync(TimeSpan.FromSeconds(30));
            await disposing.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(stopping.IsCompletedSuccessfully);
        }
    }
}
