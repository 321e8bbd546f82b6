using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Api.Tests.Security;
using TextClassification.TestSupport;
using TextClassification.Training.Jobs;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Faults;

/// <summary>
/// The service as a fleet: two API-only and two worker-only processes (separate operating-system processes) on one
/// PostgreSQL database and one artifacts directory. Jobs queued through either API run on both workers, each once; a
/// worker SIGKILLed mid-epoch has its job taken over by the other from the last checkpoint within the lease; an alias
/// moved and a key revoked through one API reach the other within their cache times; and predictions through both
/// APIs never fail meanwhile. <c>scripts/scale-out.sh</c> runs this test with the default lease (60 s) and prints
/// the figures it measures (the lines starting <c>scale-out:</c>).
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output)
{
    /// <summary>The fleet's <c>Jobs:LeaseSeconds</c>: short here so that the suite stays fast; the script sets 60, the default.</summary>
    private static readonly int LeaseSeconds =
        int.TryParse(Environment.GetEnvironmentVariable("SCALE_OUT_LEASE_SECONDS"), out int seconds) ? seconds : 10;

    private const int SmallJobs = 6;
    private const int LongJobEpochs = 6;
    private const string Model = "fleet";

    // The fleet runs with the default cache times (Inference:ResolutionCacheMilliseconds, Security:KeyCacheMilliseconds).
    private static readonly TimeSpan ResolutionCache = TimeSpan.FromMilliseconds(2000);
    private static readonly TimeSpan KeyCache = TimeSpan.FromMilliseconds(1000);

    /// <summary>On top of a cache time: a request in flight, and a machine with two cores shared by five busy processes.</summary>
    private static readonly TimeSpan PropagationSlack = TimeSpan.FromMilliseconds(1500);

    [Fact]
    public async Task Two_apis_and_two_workers_on_one_postgres_share_the_jobs_take_over_a_killed_worker_and_keep_serving()
    {
        string database = await (await SharedPostgres.GetAsync()).CreateDatabaseAsync("scaleout");
        using var root = new TempDirectory("scale-out");
        await using var fleet = new Fleet(root.Path, database, output);
        try
        {
            await RunAsync(fleet);
        }
        catch
        {
            fleet.WriteOutputTails();
            throw;
        }
    }

    private async Task RunAsync(Fleet fleet)
    {
        var clock = Stopwatch.StartNew();
        Report($"lease {LeaseSeconds} s (takeover poll every {ExpiredLeaseTakeover.PollInterval(LeaseSeconds).TotalSeconds:F0} s), {Environment.ProcessorCount} cores");
        // The first API applies the migrations; the others would wait on the migrations lock meanwhile anyway.
        var apiA = await fleet.StartAsync("api-a", ProcessRole.Api);
        var started = await Task.WhenAll(
            fleet.StartAsync("api-b", ProcessRole.Api), fleet.StartAsync("worker-1", ProcessRole.Worker), fleet.StartAsync("worker-2", ProcessRole.Worker));
        var (apiB, workers) = (started[0], new Dictionary<string, ServiceProcess> { ["worker-1"] = started[1], ["worker-2"] = started[2] });
        Report($"fleet ready after {clock.Elapsed.TotalSeconds:F1} s: api-a, api-b, worker-1, worker-2");
        using var a = apiA.CreateClient();
        using var b = apiB.CreateClient();
        HttpClient[] apis = [a, b];

        // Six small jobs through either API; predictions start as soon as the first has published a version.
        string dataset = await JobsApi.UploadAsync(a, SyntheticIntents.Csv(["balance", "transfer", "greeting"], 20, seed: 51));
        var jobs = new List<string>();
        for (int i = 0; i < SmallJobs; i++)
        {
            var created = await JobsApi.CreateAsync(apis[i % 2], new { training_dataset_id = dataset, model = Model, hyperparameters = new { epochs = 2, seed = i } });
            jobs.Add((string)created["id"]!);
        }

        await JobsApi.WaitAsync(a, jobs[0], j => (string)j["status"]! is "succeeded" or "failed", TimeSpan.FromSeconds(120));
        await using var load = new PredictionLoad([("api-a", apiA), ("api-b", apiB)], Model);

        var ended = new List<JsonNode>();
        foreach (string id in jobs)
        {
            ended.Add(await JobsApi.WaitForEndAsync(b, id, TimeSpan.FromSeconds(180)));
        }

        Assert.All(ended, job => Assert.True((string)job["status"]! == "succeeded", job.ToJsonString()));
        var perWorker = ended.GroupBy(job => (string)job["worker"]!).ToDictionary(g => g.Key, g => g.Count());
        Report($"{SmallJobs} jobs succeeded after {clock.Elapsed.TotalSeconds:F1} s; jobs per worker: {string.Join(", ", perWorker.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}");
        Assert.Equal(new[] { "worker-1", "worker-2" }, perWorker.Keys.Order());
        foreach (string id in jobs)
        {
            var events = await JobsApi.EventsAsync(a, id);
            Assert.Single(events, IsClaim);
            Assert.DoesNotContain(events, IsLeaseLapse);
        }

        // The long job: its worker is SIGKILLed in the middle of an epoch, and the other takes it over.
        string bigDataset = await JobsApi.UploadAsync(b, SyntheticIntents.Csv(["balance", "transfer", "card_lost", "greeting"], 100, seed: 52));
        string longJob = (string)(await JobsApi.CreateAsync(b, new
        {
            training_dataset_id = bigDataset, model = $"{Model}-long", hyperparameters = new { epochs = LongJobEpochs, batch_size = 8, early_stopping_patience = 0 },
        }))["id"]!;
        var (doomedName, epochSeconds) = await WaitUntilMidEpochAsync(a, longJob);
        string survivor = workers.Keys.Single(name => name != doomedName);
        var killedAt = DateTimeOffset.UtcNow;
        await workers[doomedName].KillAsync();
        var atKill = await CheckpointsAsync(a, longJob);
        Report($"SIGKILLed {doomedName} at {clock.Elapsed.TotalSeconds:F1} s, in epoch {atKill.Count + 1} of {LongJobEpochs} of {longJob} (epochs take {epochSeconds:F1} s; last checkpoint: epoch {atKill.Count})");
        Assert.InRange(atKill.Count, 1, LongJobEpochs - 1);
        var takenOver = JobsApi.WaitAsync(a, longJob, j => (string?)j["worker"] == survivor && (string)j["status"]! == "running",
            TimeSpan.FromSeconds(LeaseSeconds + 60));

        // While the job waits for its lease to run out: an alias moved and a key revoked through A, seen from B.
        var aliasLag = await MeasureAliasMoveAsync(a, b, from: 5, to: 6);
        var revocationLag = await MeasureRevocationAsync(a, apiB);
        Report($"alias moved through api-a, served by api-b after {aliasLag.TotalMilliseconds:F0} ms (resolution cache {ResolutionCache.TotalMilliseconds:F0} ms)");
        Report($"key revoked through api-a, refused by api-b after {revocationLag.TotalMilliseconds:F0} ms (key cache {KeyCache.TotalMilliseconds:F0} ms)");

        await takenOver;
        var done = await JobsApi.WaitForEndAsync(a, longJob, TimeSpan.FromSeconds(300));
        var (loadOk, loadFailures, perApi) = await load.StopAsync();

        var longEvents = await JobsApi.EventsAsync(a, longJob);
        var lapse = Assert.Single(longEvents, IsLeaseLapse)!;
        var claims = longEvents.Where(IsClaim).ToList();
        var resumed = Assert.Single(longEvents, e => (string)e!["type"]! == JobEventTypes.Resumed)!;
        var leaseExpired = (DateTimeOffset)lapse["data"]!["lease_expired_at"]!;
        var requeued = (DateTimeOffset)lapse["created_at"]!;
        var claimedAgain = (DateTimeOffset)claims[^1]!["created_at"]!;
        var takeover = claimedAgain - killedAt;
        Report($"takeover: lease ran out {(leaseExpired - killedAt).TotalSeconds:F1} s after the kill, job queued again at {(requeued - killedAt).TotalSeconds:F1} s, "
            + $"running on {survivor} at {takeover.TotalSeconds:F1} s; resumed from the checkpoint of epoch {(int)resumed["data"]!["epoch"]!}; "
            + $"the job {(string)done["status"]!} at {clock.Elapsed.TotalSeconds:F1} s");
        Report($"predictions: {loadOk + loadFailures} sent ({string.Join(", ", perApi.Select(p => $"{p.Key} {p.Value}"))}), {loadFailures} failed");
        Report($"wall time {clock.Elapsed.TotalSeconds:F1} s");
        foreach (string failure in load.Failures.Take(10))
        {
            output.WriteLine(failure);
        }

        Assert.True((string)done["status"]! == "succeeded", done.ToJsonString());
        Assert.Equal(survivor, (string)done["worker"]!);
        Assert.Equal(new[] { doomedName, survivor }, claims.Select(c => (string)c!["data"]!["worker"]!));
        Assert.Equal(doomedName, (string)lapse["data"]!["worker"]!);
        Assert.Equal(atKill.Count, (int)resumed["data"]!["epoch"]!);
        var checkpoints = await CheckpointsAsync(a, longJob);
        Assert.Equal(Enumerable.Range(1, LongJobEpochs), checkpoints.Select(c => (int)c!["epoch"]!));
        Assert.Equal(LongJobEpochs, longEvents.Count(e => (string)e!["type"]! == JobEventTypes.EpochCompleted));
        // Its lease runs out two thirds of a lease to a whole lease after the kill; then one poll and the queue's pick-up.
        Assert.True(takeover <= TimeSpan.FromSeconds(LeaseSeconds) + ExpiredLeaseTakeover.PollInterval(LeaseSeconds) + TimeSpan.FromSeconds(5),
            $"taken over {takeover.TotalSeconds:F1} s after the kill, with a {LeaseSeconds} s lease");
        Assert.True(aliasLag <= ResolutionCache + PropagationSlack, $"alias reached api-b after {aliasLag.TotalMilliseconds:F0} ms");
        Assert.True(revocationLag <= KeyCache + PropagationSlack, $"revocation reached api-b after {revocationLag.TotalMilliseconds:F0} ms");
        Assert.Equal(0, loadFailures);
        Assert.All(perApi.Values, count => Assert.True(count > 0));
    }

    private static bool IsClaim(JsonNode? e) => (string)e!["type"]! == JobEventTypes.StatusChanged && (string?)e["data"]?["status"] == "running";

    private static bool IsLeaseLapse(JsonNode? e) => (string)e!["type"]! == JobEventTypes.StatusChanged && e["data"]?["lease_expired_at"] is not null;

    private void Report(string line) => output.WriteLine($"scale-out: {line}");

    /// <summary>
    /// Waits for the job's second checkpoint, then a quarter of an epoch more (timed by the two checkpoints), so that
    /// the kill lands well inside the third epoch, clear of an epoch's end, whatever the machine's load does to the
    /// epochs' length; returns the worker that runs the job and how long its epochs take.
    /// </summary>
    private static async Task<(string Worker, double EpochSeconds)> WaitUntilMidEpochAsync(HttpClient client, string jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (DateTime.UtcNow < deadline)
        {
            var checkpoints = await CheckpointsAsync(client, jobId);
            if (checkpoints.Count >= 2)
            {
                var epoch = (DateTimeOffset)checkpoints[1]!["created_at"]! - (DateTimeOffset)checkpoints[0]!["created_at"]!;
                var job = await JobsApi.GetAsync(client, jobId);
                var wait = (DateTimeOffset)checkpoints[^1]!["created_at"]! + epoch / 4 - DateTimeOffset.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                return ((string)job["worker"]!, epoch.TotalSeconds);
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Job {jobId} wrote no second checkpoint within 180 s.");
        return default;
    }

    private static async Task<JsonArray> CheckpointsAsync(HttpClient client, string jobId) =>
        (await (await client.GetAsync($"/v1/fine-tuning/jobs/{jobId}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray();

    /// <summary>
    /// Points the production alias at <paramref name="from"/> until B serves it, has B load <paramref name="to"/>
    /// (so that what is timed is the alias reaching B, not a model load), then moves the alias through A and times
    /// how long until B's default predictions come from <paramref name="to"/>.
    /// </summary>
    private static async Task<TimeSpan> MeasureAliasMoveAsync(HttpClient a, HttpClient b, int from, int to)
    {
        await SetAliasAsync(a, from);
        await PollAsync(async () => await DefaultVersionAsync(b) == from, TimeSpan.FromSeconds(30), "api-b serving the first alias version");
        await (await b.PostAsync($"/v1/models/{Model}/versions/{to}/predict", PredictBody)).ReadJsonAsync(HttpStatusCode.OK);

        await SetAliasAsync(a, to);
        var moved = Stopwatch.StartNew();
        await PollAsync(async () => await DefaultVersionAsync(b) == to, TimeSpan.FromSeconds(30), "api-b serving the moved alias");
        return moved.Elapsed;
    }

    private static async Task SetAliasAsync(HttpClient client, int version) =>
        await (await client.PutAsync($"/v1/models/{Model}/aliases/production", HttpAssertions.JsonBody(new { version }))).ReadJsonAsync(HttpStatusCode.OK);

    private static async Task<int> DefaultVersionAsync(HttpClient client) =>
        (int)(await (await client.PostAsync($"/v1/models/{Model}/predict", PredictBody)).ReadJsonAsync(HttpStatusCode.OK))["version"]!;

    /// <summary>
    /// Creates a predict key through A and uses it on B (which then trusts it for the key cache time), revokes it
    /// through A, and times how long until B refuses it. A refuses it at once.
    /// </summary>
    private static async Task<TimeSpan> MeasureRevocationAsync(HttpClient a, ServiceProcess apiB)
    {
        var (id, secret) = await SecurityApi.CreateKeyAsync(a, "predict");
        using var keyed = new HttpClient { BaseAddress = apiB.Address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", secret) } };
        await (await keyed.PostAsync($"/v1/models/{Model}/predict", PredictBody)).ReadJsonAsync(HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, (await a.DeleteAsync($"/v1/api-keys/{id}")).StatusCode);
        var revoked = Stopwatch.StartNew();
        await PollAsync(async () =>
        {
            using var response = await keyed.PostAsync($"/v1/models/{Model}/predict", PredictBody);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"api-b answered {(int)response.StatusCode}");
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(30), "api-b refusing the revoked key");
        return revoked.Elapsed;
    }

    private static async Task PollAsync(Func<Task<bool>> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(deadline.Elapsed < timeout, $"No {what} within {timeout.TotalSeconds} s.");
            await Task.Delay(10);
        }
    }

    private static StringContent PredictBody => HttpAssertions.JsonBody(new { inputs = new[] { "could you send money to my account now" } });

    /// <summary>The fleet's processes, each with a data directory of its own and the one shared artifacts directory.</summary>
    private sealed class Fleet(string root, string database, ITestOutputHelper output) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, ServiceProcess> _processes = new();

        public async Task<ServiceProcess> StartAsync(string name, ProcessRole role)
        {
            var process = await ServiceProcess.StartAsync(Directory.CreateDirectory(Path.Combine(root, name)).FullName, new Dictionary<string, string?>
            {
                ["Jobs:Role"] = role.ToString(),
                ["Jobs:WorkerName"] = name,
                ["Jobs:LeaseSeconds"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Persistence:ArtifactsDirectory"] = Path.Combine(root, "artifacts"),
                // Two workers training at once on a small machine: one thread each rather than every core each.
                ["Training:CpuThreads"] = "1",
            }, database);
            _processes[name] = process;
            return process;
        }

        /// <summary>The last lines each process wrote (warnings and errors), to tell what went wrong.</summary>
        public void WriteOutputTails()
        {
            foreach (var (name, process) in _processes.OrderBy(p => p.Key))
            {
                output.WriteLine($"--- {name} (last 40 lines of stdout) ---");
                foreach (string line in process.StandardOutput.TakeLast(40))
                {
                    output.WriteLine(line);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var process in _processes.Values)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>One client per API sending predictions back to back, counting answers that are not 200.</summary>
    private sealed class PredictionLoad : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<string, int> _succeeded = new();
        private readonly List<Task> _loops;
        private int _failed;

        public PredictionLoad(IEnumerable<(string Name, ServiceProcess Api)> apis, string model) =>
            _loops = apis.Select(api => Task.Run(() => LoopAsync(api.Name, api.Api, model))).ToList();

        public ConcurrentQueue<string> Failures { get; } = new();

        public async Task<(int Succeeded, int Failed, IReadOnlyDictionary<string, int> PerApi)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_loops);
            return (_succeeded.Values.Sum(), _failed, _succeeded.OrderBy(p => p.Key).ToDictionary());
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }

            _stop.Dispose();
        }

        private async Task LoopAsync(string name, ServiceProcess api, string model)
        {
            using var client = api.CreateClient();
            client.Timeout = TimeSpan.FromSeconds(30);
            _succeeded[name] = 0;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.PostAsync($"/v1/models/{model}/predict", PredictBody, _stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        _succeeded.AddOrUpdate(name, 1, (_, count) => count + 1);
                    }
                    else
                    {
                        Interlocked.Increment(ref _failed);
                        Failures.Enqueue($"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref _failed);
                    Failures.Enqueue($"{name}: {e.GetType().Name} {e.Message}");
                }
            }
        }
    }
}
