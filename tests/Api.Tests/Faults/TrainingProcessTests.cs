using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Faults;

/// <summary>
/// Training in a supervised child process (<c>Jobs:TrainingProcess:Isolation</c> = <c>ChildProcess</c>, the default):
/// a child that crashes, is killed, hangs or outgrows its memory limit fails its job with a clear error, while the
/// service that started it goes on answering predictions; cancel and shutdown still stop it; and a child whose worker
/// dies exits by itself. Signals are sent to the real child process, found through the job's events.
/// </summary>
public sealed class TrainingProcessTests(ITestOutputHelper output)
{
    private static readonly string[] Labels = ["balance", "transfer", "card_lost", "greeting"];
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(180);

    [Theory]
    [InlineData("SEGV", "training_process_crashed", "SIGSEGV")]
    [InlineData("ABRT", "training_process_crashed", "SIGABRT")]
    [InlineData("KILL", "training_process_killed", "SIGKILL")]
    public async Task A_job_whose_training_process_dies_of_a_signal_fails_and_the_service_keeps_answering(string signal, string code, string named)
    {
        await using var service = await ChildProcessService.StartAsync();
        await using var load = PredictionLoad.Start(service.Client, service.Model);
        var (jobId, pid) = await service.StartLongJobAsync("doomed");

        await KillWithAsync(pid, signal);
        var job = await JobsApi.WaitForEndAsync(service.Client, jobId, JobTimeout);

        Assert.True((string)job["status"]! == "failed", job.ToJsonString());
        Assert.Equal(code, (string)job["error"]!["code"]!);
        Assert.Contains(named, (string)job["error"]!["message"]!);
        await WaitForExitAsync(pid);
        var (succeeded, failures) = await load.StopAsync();
        output.WriteLine($"SIG{signal}: {succeeded} predictions answered while the job's process died, {failures.Count} failed");
        Assert.Empty(failures);
        Assert.True(succeeded > 0, "no prediction was answered");

        // The worker is unharmed: the next job trains (in a new process) and publishes.
        var next = await service.TrainAsync("after-crash", epochs: 1);
        Assert.True((string)next["status"]! == "succeeded", next.ToJsonString());
    }

    [Fact]
    public async Task A_training_process_that_stops_making_progress_is_stopped_after_the_hang_timeout()
    {
        var hangTimeout = TimeSpan.FromSeconds(6);
        await using var service = await ChildProcessService.StartAsync(new() { ["Jobs:TrainingProcess:HangTimeout"] = hangTimeout.ToString() });
        var (jobId, pid) = await service.StartLongJobAsync("hangs");

        // A stopped process makes no progress and sends no heartbeat, like one stuck in a native call.
        await SignalAsync(pid, "STOP");
        var sinceStop = Stopwatch.StartNew();
        var job = await JobsApi.WaitForEndAsync(service.Client, jobId, JobTimeout);
        sinceStop.Stop();

        Assert.True((string)job["status"]! == "failed", job.ToJsonString());
        Assert.Equal("training_hung", (string)job["error"]!["code"]!);
        Assert.Contains("Jobs:TrainingProcess:HangTimeout", (string)job["error"]!["message"]!);
        // The clock runs from the last heartbeat, up to a second or two before the stop (an epoch's validation and
        // checkpoint on a busy machine), so only the upper bound is sharp.
        Assert.True(sinceStop.Elapsed < hangTimeout + TimeSpan.FromSeconds(10), $"stopped only {sinceStop.Elapsed.TotalSeconds:F1} s after it hung");
        await WaitForExitAsync(pid);
        output.WriteLine($"a stopped training process was ended {sinceStop.Elapsed.TotalSeconds:F1} s after SIGSTOP (hang timeout {hangTimeout.TotalSeconds} s)");
    }

    [Fact]
    public async Task A_job_over_its_memory_limit_fails_with_out_of_memory_and_the_service_keeps_answering()
    {
        // Far below what the runtime and libtorch alone take: the limit is crossed as soon as the process is sampled.
        await using var service = await ChildProcessService.StartAsync(new() { ["Jobs:TrainingProcess:MemoryLimitMegabytes"] = "64" }, trainModel: false);
        string dataset = await JobsApi.UploadAsync(service.Client, SyntheticIntents.Csv(Labels, 40, seed: 5));
        string jobId = (string)(await JobsApi.CreateAsync(service.Client, new { training_dataset_id = dataset, model = "too-big", hyperparameters = new { epochs = 1 } }))["id"]!;

        var job = await JobsApi.WaitForEndAsync(service.Client, jobId, JobTimeout);

        Assert.True((string)job["status"]! == "failed", job.ToJsonString());
        Assert.Equal("out_of_memory", (string)job["error"]!["code"]!);
        Assert.Contains("limit of 64 MiB", (string)job["error"]!["message"]!);
        var exited = (await JobsApi.EventsAsync(service.Client, jobId)).Last(e => (string)e!["type"]! == "training_process");
        Assert.True((long)exited!["data"]!["peak_memory_bytes"]! > 64L * 1024 * 1024, exited.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Cancel_ends_a_job_in_a_training_process_and_the_process_exits()
    {
        await using var service = await ChildProcessService.StartAsync(trainModel: false);
        var (jobId, pid) = await service.StartLongJobAsync("cancelled");

        var sinceCancel = Stopwatch.StartNew();
        await (await service.Client.PostAsync($"/v1/fine-tuning/jobs/{jobId}/cancel", null)).ReadJsonAsync(HttpStatusCode.OK);
        var job = await JobsApi.WaitForEndAsync(service.Client, jobId, TimeSpan.FromSeconds(20));
        sinceCancel.Stop();

        Assert.True((string)job["status"]! == "cancelled", job.ToJsonString());
        await WaitForExitAsync(pid);
        var events = await JobsApi.EventsAsync(service.Client, jobId);
        Assert.Equal("Job cancelled.", (string)events[^1]!["message"]!);
        // The child stopped when asked, with its result, rather than being killed at the end of the grace period.
        Assert.Equal(0, (int)events.Last(e => (string)e!["type"]! == "training_process")!["data"]!["exit_code"]!);
        output.WriteLine($"cancelled in {sinceCancel.Elapsed.TotalSeconds:F2} s, as a client polling every 100 ms saw it");
    }

    [Fact]
    public async Task A_stopping_worker_hands_the_job_back_and_the_next_one_resumes_it_from_its_checkpoint()
    {
        using var data = new TempDirectory("handback");
        string jobId;
        int pid;
        await using (var first = await ChildProcessService.StartAsync(dataDirectory: data.Path, trainModel: false))
        {
            (jobId, pid) = await first.StartLongJobAsync("handed-back", epochs: 6, waitForCheckpoint: true);
        }

        // The host has stopped: its child stopped with it, and the job waits in the queue.
        await WaitForExitAsync(pid);
        await using var second = await ChildProcessService.StartAsync(dataDirectory: data.Path, trainModel: false);
        var job = await JobsApi.WaitForEndAsync(second.Client, jobId, JobTimeout);

        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        var events = await JobsApi.EventsAsync(second.Client, jobId);
        Assert.Contains(events, e => (string)e!["type"]! == "status_changed" && ((string)e["message"]!).StartsWith("The worker stopped", StringComparison.Ordinal));
        Assert.Contains(events, e => (string)e!["type"]! == "resumed");
        Assert.Equal(2, events.Count(e => (string)e!["type"]! == "training_process" && ((string)e["message"]!).StartsWith("Training in process", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_training_process_exits_by_itself_when_its_worker_is_killed()
    {
        using var data = new TempDirectory("orphan");
        await using var service = await ServiceProcess.StartAsync(data.Path);
        using var client = service.CreateClient();
        string dataset = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(Labels, 150, seed: 8));
        string jobId = (string)(await JobsApi.CreateAsync(client, new { training_dataset_id = dataset, model = "orphaned", hyperparameters = new { epochs = 200, batch_size = 8, early_stopping_patience = 0 } }))["id"]!;
        await JobsApi.WaitAsync(client, jobId, job => (long?)job["progress"]?["step"] > 0, JobTimeout);
        int pid = await ChildProcessService.TrainingProcessIdAsync(client, jobId);
        Assert.NotEqual(service.ProcessId, pid);

        // SIGKILL to the worker alone, not its process tree: the child must notice by itself.
        await service.KillAsync(entireProcessTree: false);
        var sinceKill = Stopwatch.StartNew();
        await WaitForExitAsync(pid);
        output.WriteLine($"the orphaned training process exited {sinceKill.Elapsed.TotalMilliseconds:F0} ms after its worker was killed");
    }

    /// <summary>
    /// Sends <paramref name="signal"/> until the process dies of it. The .NET runtime catches the first SIGSEGV, SIGBUS
    /// or SIGABRT itself: a fault outside managed code makes it restore the default action and return, so that the
    /// faulting instruction faults again and the process dies. A signal sent with kill(1) has no instruction to repeat,
    /// so it takes a second one for the process to die as a real native crash would.
    /// </summary>
    private static async Task KillWithAsync(int pid, string signal)
    {
        for (int sent = 0; Directory.Exists($"/proc/{pid}") && sent < 5; sent++)
        {
            await SignalAsync(pid, signal);
            await Task.Delay(300);
        }
    }

    private static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits until no process <paramref name="pid"/> is left (it exited and was reaped).</summary>
    private static async Task WaitForExitAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (Directory.Exists($"/proc/{pid}"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"training process {pid} is still there 15 s later");
            await Task.Delay(50);
        }
    }

    /// <summary>An in-process service whose worker trains in child processes, with a small model to serve.</summary>
    private sealed class ChildProcessService : IAsyncDisposable
    {
        private readonly TempDirectory? _ownData;
        private readonly ServiceFactory _factory;

        private ChildProcessService(TempDirectory? ownData, ServiceFactory factory)
        {
            _ownData = ownData;
            _factory = factory;
            Client = factory.CreateClient();
        }

        public HttpClient Client { get; }

        public string Model => "served";

        public static async Task<ChildProcessService> StartAsync(Dictionary<string, string?>? settings = null, bool trainModel = true, string? dataDirectory = null)
        {
            settings ??= [];
            settings["Jobs:TrainingProcess:Isolation"] = "ChildProcess";
            var own = dataDirectory is null ? new TempDirectory("child-process") : null;
            var service = new ChildProcessService(own, new ServiceFactory(dataDirectory ?? own!.Path, null, settings));
            if (trainModel)
            {
                var job = await service.TrainAsync(service.Model, epochs: 1);
                Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
            }

            return service;
        }

        public async Task<JsonNode> TrainAsync(string model, int epochs)
        {
            string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 30, seed: 4));
            string id = (string)(await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model, hyperparameters = new { epochs, seed = 1 } }))["id"]!;
            return await JobsApi.WaitForEndAsync(Client, id, JobTimeout);
        }

        /// <summary>Starts a job that trains for minutes if left alone, and returns once its process is training.</summary>
        public async Task<(string JobId, int Pid)> StartLongJobAsync(string model, int epochs = 200, bool waitForCheckpoint = false)
        {
            string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 150, seed: 9));
            string id = (string)(await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model, hyperparameters = new { epochs, batch_size = 8, early_stopping_patience = 0 } }))["id"]!;
            await JobsApi.WaitAsync(Client, id, job => waitForCheckpoint ? (int?)job["progress"]?["epoch"] > 1 : (long?)job["progress"]?["step"] > 0, JobTimeout);
            return (id, await TrainingProcessIdAsync(Client, id));
        }

        /// <summary>The process the job trains in, from the event its worker wrote when it started it.</summary>
        public static async Task<int> TrainingProcessIdAsync(HttpClient client, string jobId)
        {
            var started = (await JobsApi.EventsAsync(client, jobId)).Last(e => (string)e!["type"]! == "training_process");
            int pid = (int)started!["data"]!["pid"]!;
            Assert.NotEqual(Environment.ProcessId, pid);
            Assert.True(Directory.Exists($"/proc/{pid}"), $"training process {pid} is not running");
            return pid;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _factory.DisposeAsync();
            _ownData?.Dispose();
        }
    }

    /// <summary>Two clients sending predictions one after another until stopped; every failure is kept.</summary>
    private sealed class PredictionLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<string> _failures = [];
        private readonly Task _running;
        private int _succeeded;

        private PredictionLoad(HttpClient client, string model) =>
            _running = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => SendAsync(client, model))));

        public static PredictionLoad Start(HttpClient client, string model) => new(client, model);

        public async Task<(int Succeeded, IReadOnlyList<string> Failures)> StopAsync()
        {
            await _stop.CancelAsync();
            await _running;
            lock (_failures)
            {
                return (Volatile.Read(ref _succeeded), [.. _failures]);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }

            _stop.Dispose();
        }

        private async Task SendAsync(HttpClient client, string model)
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.PostAsync($"/v1/models/{model}/predict", HttpAssertions.JsonBody(new { inputs = new[] { "what is my balance" } }));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref _succeeded);
                    }
                    else
                    {
                        Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (HttpRequestException e)
                {
                    Fail(e.Message);
                }

                await Task.Delay(20);
            }
        }

        private void Fail(string failure)
        {
            lock (_failures)
            {
                _failures.Add(failure);
            }
        }
    }
}
