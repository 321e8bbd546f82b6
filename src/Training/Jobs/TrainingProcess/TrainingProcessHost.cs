using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;

namespace TextClassification.Training.Jobs.TrainingProcess;

/// <summary>
/// The child-process side of <see cref="TrainingIsolation.ChildProcess"/>: the service executable started with
/// <see cref="TrainingProcessProtocol.Command"/> reads its job from stdin, runs <see cref="FineTuningJobExecution"/>
/// under its worker's lease, sends a heartbeat while training makes progress, and ends with one result line. It
/// starts no host: no HTTP, no Hangfire server, no migrations, nothing but the job.
/// </summary>
public static class TrainingProcessHost
{
    /// <summary>Exit codes besides 0 (a result was written, whatever it was).</summary>
    private const int ExitUsage = 2;
    private const int ExitWorkerGone = 3;

    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    public static bool IsRequested(string[] args) => args is [TrainingProcessProtocol.Command, ..];

    public static async Task<int> RunAsync()
    {
        // The worker alone decides when this process stops: Ctrl+C in a terminal reaches the whole process group,
        // and a child that died of it first would look like a crash to its worker, which hands the job back instead.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);
        using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, context => context.Cancel = true);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => context.Cancel = true);

        var stdin = Console.In;
        var start = await stdin.ReadLineAsync() is { } first ? JsonSerializer.Deserialize<TrainingProcessStart>(first, TrainingProcessProtocol.Json) : null;
        if (start is null)
        {
            await Console.Error.WriteLineAsync($"{TrainingProcessProtocol.Command} is started by a worker, which sends the job on stdin.");
            return ExitUsage;
        }

        var output = new ResultWriter(Console.Out);
        using var stop = new CancellationTokenSource();
        var watcher = new Thread(() => WatchWorker(stdin, stop)) { IsBackground = true, Name = "worker watch" };
        watcher.Start();

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(start.Configuration).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging => logging
            .AddConfiguration(configuration.GetSection("Logging"))
            .AddSimpleConsole(console => console.SingleLine = true)
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
        services.AddPersistence();
        services.AddTraining();
        services.AddSingleton(provider => new JobLease(
            provider.GetRequiredService<IServiceScopeFactory>(), provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<IOptions<JobsOptions>>())
        {
            Owner = start.LeaseOwner,
        });

        await using var provider = services.BuildServiceProvider();
        var heartbeat = provider.GetRequiredService<TrainingHeartbeat>();
        using var heartbeats = new Timer(_ => output.HeartbeatIfBeaten(heartbeat.Beats), null, HeartbeatInterval, HeartbeatInterval);
        output.Write(await RunJobAsync(provider, start.JobId, stop.Token));
        return 0;
    }

    private static void WatchWorker(TextReader stdin, CancellationTokenSource stop)
    {
        while (true)
        {
            string? line;
            try
            {
                line = stdin.ReadLine();
            }
            catch (IOException)
            {
                line = null;
            }

            if (line is null)
            {
                // The worker is gone (killed, crashed): its lease runs out and another worker resumes the job from its
                // last checkpoint. Anything this process did now would race that worker.
                Environment.Exit(ExitWorkerGone);
            }

            if (line == TrainingProcessProtocol.StopLine)
            {
                stop.Cancel();
            }
        }
    }

    private static async Task<TrainingProcessMessage> RunJobAsync(ServiceProvider provider, string jobId, CancellationToken stop)
    {
        try
        {
            var published = await provider.GetRequiredService<FineTuningJobExecution>().ExecuteAsync(jobId, stop);
            return TrainingProcessMessage.Result(TrainingProcessMessage.Succeeded) with { Model = published.Model, Version = published.Version };
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return TrainingProcessMessage.Result(TrainingProcessMessage.Stopped);
        }
        catch (Exception e) when (FineTuningJobRunner.Describe(e) is { } failure)
        {
            return TrainingProcessMessage.Result(TrainingProcessMessage.Failed, failure.Code, failure.Message);
        }
        catch (Exception e)
        {
            // Not the job's fault (the database or the artifact store failed under it): the worker lets Hangfire retry.
            provider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TrainingProcessHost)).LogWarning(e, "Fine-tuning job {JobId} was interrupted", jobId);
            return TrainingProcessMessage.Result(TrainingProcessMessage.Interrupted, message: e.Message);
        }
    }

    /// <summary>Writes protocol lines to stdout, one at a time: the heartbeat timer and the job's end may meet.</summary>
    private sealed class ResultWriter(TextWriter stdout)
    {
        private readonly Lock _gate = new();
        private long _beatsSent;

        public void HeartbeatIfBeaten(long beats)
        {
            if (beats != Interlocked.Exchange(ref _beatsSent, beats))
            {
                Write(TrainingProcessMessage.Heartbeat);
            }
        }

        public void Write(TrainingProcessMessage message)
        {
            lock (_gate)
            {
                stdout.WriteLine(TrainingProcessProtocol.Format(message));
                stdout.Flush();
            }
        }
    }
}
