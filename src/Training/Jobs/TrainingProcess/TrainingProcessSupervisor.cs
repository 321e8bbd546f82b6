using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Training.Jobs.TrainingProcess;

/// <summary>
/// Runs a job in a child process of its own (<see cref="TrainingIsolation.ChildProcess"/>) and watches it: the
/// child's resident memory against <see cref="TrainingProcessOptions.MemoryLimitMegabytes"/>, its heartbeat against
/// <see cref="TrainingProcessOptions.HangTimeout"/>, and how it ended. A native crash, a kill, a hang or a runaway
/// allocation ends that job with a clear error while this process, and whatever else it serves, carries on; and the
/// memory a training took goes back to the machine when its process exits.
/// </summary>
public sealed partial class TrainingProcessSupervisor(
    TrainingProcessExecutable executable,
    IConfiguration configuration,
    JobLease lease,
    JobEventLog events,
    IOptions<JobsOptions> options,
    ILogger<TrainingProcessSupervisor> logger) : IFineTuningJobExecution
{
    /// <summary>How often the child's memory, heartbeat and the stop request are looked at.</summary>
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How many of the child's last log lines a crash report quotes.</summary>
    private const int LogTailLines = 12;

    private const int MiB = 1024 * 1024;

    public async Task<PublishedModel> ExecuteAsync(string jobId, CancellationToken cancellationToken)
    {
        var settings = options.Value.TrainingProcess;
        long memoryLimit = settings.MemoryLimitBytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        using var child = new ChildProcess(executable.StartInfo(), jobId, logger);
        await child.SendAsync(JsonSerializer.Serialize(new TrainingProcessStart(jobId, lease.Owner, Flatten(configuration)), TrainingProcessProtocol.Json));
        LogStarted(logger, jobId, child.Id, memoryLimit / MiB);
        await events.AppendAsync(jobId, "info", JobEventTypes.TrainingProcess,
            $"Training in process {child.Id} (memory limit {memoryLimit / MiB} MiB).", new { pid = child.Id, memory_limit_bytes = memoryLimit }, CancellationToken.None);

        var ended = await WatchAsync(child, memoryLimit, settings.HangTimeout, cancellationToken);
        var result = child.Result;
        LogExited(logger, jobId, child.Id, child.ExitCode, child.PeakMemory / MiB, ended);
        await events.AppendAsync(jobId, "info", JobEventTypes.TrainingProcess,
            $"Training process {child.Id} exited with code {child.ExitCode}{SignalSuffix(child.ExitCode)}; peak resident memory {child.PeakMemory / MiB} MiB.",
            new { pid = child.Id, exit_code = child.ExitCode, peak_memory_bytes = child.PeakMemory, outcome = result?.Outcome }, CancellationToken.None);

        if (result is { Outcome: TrainingProcessMessage.Succeeded, Model: { } model })
        {
            return new PublishedModel(model, result.Version);
        }

        switch (ended)
        {
            case Ending.OverMemoryLimit:
                throw new TrainingFailedException(TrainingFailedException.OutOfMemory,
                    $"The job's training process used {child.PeakMemory / MiB} MiB, more than its limit of {memoryLimit / MiB} MiB "
                    + "(Jobs:TrainingProcess:MemoryLimitMegabytes), and was stopped; try a smaller batch_size or max_sequence_length, or raise the limit.");
            case Ending.Hung:
                throw new TrainingFailedException(TrainingFailedException.TrainingHung,
                    $"The job's training process showed no progress for {settings.HangTimeout} (Jobs:TrainingProcess:HangTimeout) and was stopped.");
        }

        if (result?.Outcome == TrainingProcessMessage.Stopped || cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        switch (result?.Outcome)
        {
            case TrainingProcessMessage.Failed:
                throw new TrainingFailedException(result.Code ?? "internal_error", result.Message ?? "The training process reported a failure.");
            case TrainingProcessMessage.Interrupted:
                // The database or the artifact store failed under the child: the same retry as in process.
                throw new IOException($"The training process was interrupted: {result.Message}");
        }

        int exitCode = child.ExitCode;
        string lastLines = child.LogTail is { Length: > 0 } tail ? $" Its last output: {tail}" : string.Empty;
        if (exitCode == 128 + 9)
        {
            throw new TrainingFailedException(TrainingFailedException.TrainingProcessKilled,
                $"The job's training process was killed (SIGKILL) at {child.LastMemory / MiB} MiB resident; the kernel's out-of-memory killer ends "
                + "processes this way when the machine runs out of memory. The worker is unaffected.");
        }

        throw new TrainingFailedException(TrainingFailedException.TrainingProcessCrashed,
            $"The job's training process crashed (exit code {exitCode}{SignalSuffix(exitCode)}) without a result; the worker is unaffected.{lastLines}");
    }

    private enum Ending
    {
        Exited,
        OverMemoryLimit,
        Hung,
        DidNotStop,
    }

    /// <summary>Waits for the child to exit, stopping it when it must: asked to (gracefully), or over its limits (killed).</summary>
    private async Task<Ending> WatchAsync(ChildProcess child, long memoryLimit, TimeSpan hangTimeout, CancellationToken cancellationToken)
    {
        var stopDeadline = (DateTime?)null;
        var exited = child.WaitForExitAsync();
        while (!exited.IsCompleted)
        {
            await Task.WhenAny(exited, Task.Delay(WatchInterval, CancellationToken.None));
            if (exited.IsCompleted)
            {
                break;
            }

            if (child.SampleMemory() > memoryLimit)
            {
                await child.KillAsync();
                return Ending.OverMemoryLimit;
            }

            if (DateTime.UtcNow - child.LastHeartbeat > hangTimeout)
            {
                await child.KillAsync();
                return Ending.Hung;
            }

            if (cancellationToken.IsCancellationRequested && stopDeadline is null)
            {
                // A graceful stop: the child finishes its queued writes (progress, a checkpoint being stored) and exits.
                stopDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(options.Value.ShutdownTimeoutSeconds);
                await child.SendAsync(TrainingProcessProtocol.StopLine);
            }
            else if (DateTime.UtcNow > stopDeadline)
            {
                await child.KillAsync();
                return Ending.DidNotStop;
            }
        }

        await exited;
        return Ending.Exited;
    }

    /// <summary>The configuration as the child's in-memory source: every key with a value, as this process sees it.</summary>
    private static Dictionary<string, string?> Flatten(IConfiguration configuration) =>
        configuration.AsEnumerable().Where(pair => pair.Value is not null).DistinctBy(pair => pair.Key, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.OrdinalIgnoreCase);

    private static string SignalSuffix(int exitCode) => exitCode switch
    {
        128 + 6 => ", SIGABRT",
        128 + 7 => ", SIGBUS",
        128 + 9 => ", SIGKILL",
        128 + 11 => ", SIGSEGV",
        128 + 15 => ", SIGTERM",
        > 128 and < 128 + 65 => $", signal {exitCode - 128}",
        _ => string.Empty,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tuning job {JobId} trains in process {Pid} (memory limit {LimitMiB} MiB)")]
    private static partial void LogStarted(ILogger logger, string jobId, int pid, long limitMiB);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tuning job {JobId}: training process {Pid} exited with code {ExitCode}, peak {PeakMiB} MiB ({Ending})")]
    private static partial void LogExited(ILogger logger, string jobId, int pid, int exitCode, long peakMiB, Ending ending);

    [LoggerMessage(Level = LogLevel.Information, Message = "[training process {Pid}, job {JobId}] {Line}")]
    private static partial void LogChildOutput(ILogger logger, int pid, string jobId, string line);

    /// <summary>A started child: its streams read as they come, its memory sampled, its result kept.</summary>
    private sealed class ChildProcess : IDisposable
    {
        private readonly Process _process;
        private readonly Queue<string> _logTail = new();
        private readonly Task _stdout;
        private readonly Task _stderr;
        private long _lastHeartbeatTicks = DateTime.UtcNow.Ticks;
        private volatile TrainingProcessMessage? _result;

        public ChildProcess(ProcessStartInfo startInfo, string jobId, ILogger logger)
        {
            _process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start the training process {startInfo.FileName}.");
            Id = _process.Id;
            _stdout = ReadAsync(_process.StandardOutput, line =>
            {
                if (TrainingProcessProtocol.Parse(line) is { } message)
                {
                    Interlocked.Exchange(ref _lastHeartbeatTicks, DateTime.UtcNow.Ticks);
                    if (message.Type == TrainingProcessMessage.ResultType)
                    {
                        _result = message;
                    }
                }
                else
                {
                    Log(line);
                }
            });
            _stderr = ReadAsync(_process.StandardError, Log);

            void Log(string line)
            {
                lock (_logTail)
                {
                    _logTail.Enqueue(line);
                    if (_logTail.Count > LogTailLines)
                    {
                        _logTail.Dequeue();
                    }
                }

                LogChildOutput(logger, Id, jobId, line);
            }
        }

        public int Id { get; }

        public TrainingProcessMessage? Result => _result;

        public int ExitCode => _process.ExitCode;

        public DateTime LastHeartbeat => new(Interlocked.Read(ref _lastHeartbeatTicks), DateTimeKind.Utc);

        public long PeakMemory { get; private set; }

        public long LastMemory { get; private set; }

        public string LogTail
        {
            get
            {
                lock (_logTail)
                {
                    return string.Join(" | ", _logTail);
                }
            }
        }

        public async Task SendAsync(string line)
        {
            try
            {
                await _process.StandardInput.WriteLineAsync(line);
                await _process.StandardInput.FlushAsync();
            }
            catch (IOException)
            {
                // The child has exited; how it ended is read from its exit code.
            }
        }

        public long SampleMemory()
        {
            try
            {
                _process.Refresh();
                LastMemory = _process.WorkingSet64;
                PeakMemory = Math.Max(PeakMemory, LastMemory);
            }
            catch (InvalidOperationException)
            {
                // Exited between the check and the sample.
            }

            return LastMemory;
        }

        public async Task WaitForExitAsync()
        {
            await _process.WaitForExitAsync();
            await Task.WhenAll(_stdout, _stderr);
        }

        public async Task KillAsync()
        {
            _process.Kill(entireProcessTree: true);
            await WaitForExitAsync();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private static async Task ReadAsync(StreamReader reader, Action<string> onLine)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                onLine(line);
            }
        }
    }
}
