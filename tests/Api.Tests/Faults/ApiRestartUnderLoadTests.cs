using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Faults;

/// <summary>
/// The API process killed with SIGKILL while clients send predictions, then started again on the same data: the
/// load generator follows it to its new address, every request after the restart succeeds, and every dataset, job and
/// model version accepted before the kill is still there with the same content.
/// </summary>
public sealed class ApiRestartUnderLoadTests(ITestOutputHelper output)
{
    private const string Model = "restart-intents";
    private const int Clients = 8;

    /// <summary>
    /// How many requests each phase (before the kill, after the restart) must see before the test moves on: two per
    /// client. The test waits for them rather than for a fixed time, since each phase may begin with a cold model load
    /// in a fresh process, on a machine that other test processes keep busy.
    /// </summary>
    private const int RequestsPerPhase = 2 * Clients;

    /// <summary>The longest a phase may take to see <see cref="RequestsPerPhase"/>: generous, as it only ends a broken run.</summary>
    private static readonly TimeSpan PhaseDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Predictions_succeed_again_after_the_api_is_killed_and_restarted_and_nothing_accepted_is_lost()
    {
        using var data = new TempDirectory("restart");
        await using var doomed = await ServiceProcess.StartAsync(data.Path);
        using var setup = doomed.CreateClient();
        string training = await JobsApi.UploadAsync(setup, SyntheticIntents.Csv(["balance", "transfer", "greeting"], 20, seed: 11));
        string other = await JobsApi.UploadAsync(setup, SyntheticIntents.Csv(["weather", "refund"], 15, seed: 12), "other.csv");
        var created = await JobsApi.CreateAsync(setup, new { training_dataset_id = training, model = Model, hyperparameters = new { epochs = 1, seed = 3 } });
        var job = await JobsApi.WaitForEndAsync(setup, (string)created["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        string before = await DescribeStoredAsync(setup, [training, other], (string)job["id"]!);

        // The load generator's own client: it carries the service's key and sends to whichever address is current.
        // The killed process refuses connections at once; the time-out is for a slow first answer (a cold model load
        // on a busy machine), which must still count as a success.
        using var loadClient = doomed.CreateClient();
        loadClient.Timeout = TimeSpan.FromSeconds(30);
        await using var load = new LoadGenerator(loadClient, doomed.Address);
        load.Start(Clients);

        await load.WaitForAsync(r => r.Succeeded, RequestsPerPhase, PhaseDeadline, "before the kill");
        var killedAt = load.Elapsed;
        await doomed.KillAsync();
        await using var restarted = await ServiceProcess.StartAsync(data.Path);
        // Switch first, then take the time: a request that starts after readyAt is sent to the restarted process.
        load.Target = restarted.Address;
        var readyAt = load.Elapsed;
        await load.WaitForAsync(r => r.Start >= readyAt, RequestsPerPhase, PhaseDeadline, "after the restart");
        var results = await load.StopAsync();

        var beforeKill = results.Where(r => r.End <= killedAt).ToList();
        var afterReady = results.Where(r => r.Start >= readyAt).ToList();
        var firstSuccessAfterKill = results.Where(r => r.Succeeded && r.Start >= killedAt).Min(r => (TimeSpan?)r.End);
        var lastSuccessBeforeKill = beforeKill.Where(r => r.Succeeded).Max(r => (TimeSpan?)r.End);
        output.WriteLine($"requests {results.Count}: {beforeKill.Count} finished before the kill, {afterReady.Count} started after the restart was ready, " +
            $"{results.Count(r => !r.Succeeded)} failed in all");
        output.WriteLine($"killed at {killedAt.TotalSeconds:F2} s; restarted process ready at {readyAt.TotalSeconds:F2} s (restart took {(readyAt - killedAt).TotalSeconds:F2} s)");
        output.WriteLine($"outage window: last success before the kill at {lastSuccessBeforeKill?.TotalSeconds:F2} s, first success after it at {firstSuccessAfterKill?.TotalSeconds:F2} s " +
            $"→ {(firstSuccessAfterKill - lastSuccessBeforeKill)?.TotalSeconds:F2} s without an answer");
        foreach (var failure in results.Where(r => !r.Succeeded).GroupBy(r => r.Outcome).OrderByDescending(g => g.Count()).Take(5))
        {
            output.WriteLine($"  failed {failure.Count()}×: {failure.Key}");
        }

        Assert.True(beforeKill.Count(r => r.Succeeded) >= RequestsPerPhase, "too little load reached the service before the kill");
        Assert.All(beforeKill, r => Assert.True(r.Succeeded, $"before the kill: {r}"));
        Assert.True(afterReady.Count >= RequestsPerPhase, "too little load reached the restarted service");
        Assert.All(afterReady, r => Assert.True(r.Succeeded, $"after the restart: {r}"));
        Assert.NotNull(firstSuccessAfterKill);

        using var again = restarted.CreateClient();
        Assert.Equal(before, await DescribeStoredAsync(again, [training, other], (string)job["id"]!));
    }

    /// <summary>
    /// Everything the service holds for these datasets, this job and its model version, as one text: each dataset's
    /// metadata and a hash of all its rows, the job as shown, the version and a hash of its ONNX file.
    /// </summary>
    private static async Task<string> DescribeStoredAsync(HttpClient client, string[] datasets, string jobId)
    {
        var text = new StringBuilder();
        foreach (string id in datasets)
        {
            var dataset = await (await client.GetAsync($"/v1/datasets/{id}")).ReadJsonAsync(HttpStatusCode.OK);
            var rows = await (await client.GetAsync($"/v1/datasets/{id}/rows?limit=500")).ReadJsonAsync(HttpStatusCode.OK);
            text.AppendLine(dataset.ToJsonString()).AppendLine(Hash(Encoding.UTF8.GetBytes(rows.ToJsonString())));
        }

        var job = await JobsApi.GetAsync(client, jobId);
        text.AppendLine(job.ToJsonString());
        var version = await (await client.GetAsync($"/v1/models/{Model}/versions/1")).ReadJsonAsync(HttpStatusCode.OK);
        text.AppendLine(version.ToJsonString());
        var onnx = await client.GetAsync($"/v1/models/{Model}/versions/1/onnx");
        Assert.Equal(HttpStatusCode.OK, onnx.StatusCode);
        string onnxHash = Hash(await onnx.Content.ReadAsByteArrayAsync());
        Assert.Equal((string?)version["sha256"] ?? onnxHash, onnxHash);
        return text.AppendLine(onnxHash).ToString();
    }

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>One prediction: when it started and ended (from the start of the load) and how it went.</summary>
    private sealed record Result(TimeSpan Start, TimeSpan End, bool Succeeded, string Outcome)
    {
        public override string ToString() => $"{Start.TotalSeconds:F2}–{End.TotalSeconds:F2} s: {Outcome}";
    }

    /// <summary>Clients that each send one prediction after another to <see cref="Target"/> until stopped.</summary>
    private sealed class LoadGenerator(HttpClient client, Uri target) : IAsyncDisposable
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentBag<Result> _results = [];
        private readonly CancellationTokenSource _stop = new();
        private Task _running = Task.CompletedTask;
        private Uri _target = target;

        /// <summary>
        /// Where requests go. The test sets it while the clients read it; the write is a full fence, so once the
        /// test has taken the time after setting it, every request timed later reads the new address.
        /// </summary>
        public Uri Target
        {
            get => Volatile.Read(ref _target);
            set => Interlocked.Exchange(ref _target, value);
        }

        public TimeSpan Elapsed => _clock.Elapsed;

        public void Start(int clients) => _running = Task.WhenAll(Enumerable.Range(0, clients).Select(ClientAsync));

        /// <summary>Waits until <paramref name="count"/> finished requests satisfy <paramref name="counted"/>; fails after <paramref name="timeout"/>.</summary>
        public async Task WaitForAsync(Func<Result, bool> counted, int count, TimeSpan timeout, string phase)
        {
            var deadline = _clock.Elapsed + timeout;
            int seen;
            while ((seen = _results.Count(counted)) < count)
            {
                if (_running.IsCompleted)
                {
                    await _running; // the clients run until stopped: one of them threw
                }

                Assert.True(_clock.Elapsed < deadline,
                    $"{phase}: {seen} of the {count} requests waited for within {timeout.TotalSeconds} s; last: {_results.MaxBy(r => r.End)}");
                await Task.Delay(50);
            }
        }

        /// <summary>Stops the clients and returns every request they made, oldest first.</summary>
        public async Task<List<Result>> StopAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
            }

            await _running;
            return [.. _results.OrderBy(r => r.Start)];
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }

        private async Task ClientAsync(int index)
        {
            var body = new JsonObject { ["inputs"] = new JsonArray($"please send money now {index}", "hello there") }.ToJsonString();
            while (!_stop.IsCancellationRequested)
            {
                // Timed before Target is read, so that a request timed after a switch goes to the new address.
                var start = _clock.Elapsed;
                string outcome;
                bool succeeded = false;
                try
                {
                    using var content = new StringContent(body, Encoding.UTF8, "application/json");
                    using var response = await client.PostAsync(new Uri(Target, $"/v1/models/{Model}/predict"), content, CancellationToken.None);
                    string answer = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    succeeded = response.StatusCode == HttpStatusCode.OK && JsonNode.Parse(answer)?["predictions"]?.AsArray().Count == 2;
                    outcome = $"{(int)response.StatusCode} {(answer.Length > 200 ? answer[..200] : answer)}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
                {
                    outcome = $"{e.GetType().Name}: {e.Message}";
                }

                _results.Add(new Result(start, _clock.Elapsed, succeeded, outcome));
                if (!succeeded)
                {
                    // A refused connection fails at once; pace the retries as a real client would.
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        }
    }
}
