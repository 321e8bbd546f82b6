using System.Diagnostics;
using System.Net;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Faults;

/// <summary>
/// PostgreSQL stopped while fine-tuning jobs are queued, then started again: readiness goes down with it and comes
/// back, and the queued jobs then run to success. The cluster is this test's own (stopping the suite's shared one
/// would break every other test using it).
/// </summary>
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    private const int Jobs = 3;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Queued_jobs_run_to_success_after_postgres_stops_and_starts_again()
    {
        await using var cluster = await PostgresCluster.StartAsync();
        string connectionString = await cluster.CreateDatabaseAsync("outage");
        using var data = new TempDirectory("pg-outage");
        await using var factory = new ServiceFactory(data.Path, connectionString);
        using var client = factory.CreateClient();

        string dataset = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer", "greeting"], 20, seed: 21));
        var jobIds = new List<string>();
        for (int i = 0; i < Jobs; i++)
        {
            var job = await JobsApi.CreateAsync(client, new { training_dataset_id = dataset, model = $"outage-{i}", hyperparameters = new { epochs = 2, seed = i } });
            jobIds.Add((string)job["id"]!);
        }

        Assert.Equal(HttpStatusCode.OK, await ReadinessAsync(client));
        var clock = Stopwatch.StartNew();
        await cluster.StopAsync();
        var stoppedAt = clock.Elapsed;
        var notReady = await WaitForReadinessAsync(client, ready: false, clock, TimeSpan.FromSeconds(30));
        await Task.Delay(Outage);
        var whileDown = await client.GetAsync($"/v1/fine-tuning/jobs/{jobIds[^1]}");
        var stillDown = await ReadinessAsync(client);
        var startingAt = clock.Elapsed;
        await cluster.StartAgainAsync();
        var startedAt = clock.Elapsed;
        var readyAgain = await WaitForReadinessAsync(client, ready: true, clock, TimeSpan.FromSeconds(60));

        output.WriteLine($"0.00 s PostgreSQL stop requested; stopped at {stoppedAt.TotalSeconds:F2} s");
        output.WriteLine($"{notReady.At.TotalSeconds:F2} s /health/ready answered {(int)notReady.Status}");
        output.WriteLine($"{startingAt.TotalSeconds:F2} s (after {Outage.TotalSeconds} s down) readiness {(int)stillDown}, a job read {(int)whileDown.StatusCode}; start requested");
        output.WriteLine($"{startedAt.TotalSeconds:F2} s PostgreSQL accepting connections again");
        output.WriteLine($"{readyAgain.At.TotalSeconds:F2} s /health/ready answered {(int)readyAgain.Status}");

        // A probe says "not ready" (503), and a request that needs the database says it is unavailable (503 with
        // Retry-After), rather than either failing as a server error.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stillDown);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, whileDown.StatusCode);
        Assert.NotNull(whileDown.Headers.RetryAfter);
        var ends = new List<string>();
        foreach (string id in jobIds)
        {
            var done = await JobsApi.WaitForEndAsync(client, id, TimeSpan.FromMinutes(4));
            ends.Add($"{id}: {(string)done["status"]!} at {clock.Elapsed.TotalSeconds:F1} s");
            Assert.True((string)done["status"]! == "succeeded", done.ToJsonString());
        }

        output.WriteLine(string.Join(Environment.NewLine, ends));
    }

    private static async Task<HttpStatusCode> ReadinessAsync(HttpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return (await client.GetAsync("/health/ready", timeout.Token)).StatusCode;
    }

    private static async Task<(TimeSpan At, HttpStatusCode Status)> WaitForReadinessAsync(HttpClient client, bool ready, Stopwatch clock, TimeSpan timeout)
    {
        var deadline = clock.Elapsed + timeout;
        while (clock.Elapsed < deadline)
        {
            var status = await ReadinessAsync(client);
            if ((status == HttpStatusCode.OK) == ready)
            {
                return (clock.Elapsed, status);
            }

            await Task.Delay(100);
        }

        Assert.Fail($"/health/ready did not become {(ready ? "200" : "non-200")} within {timeout.TotalSeconds} s");
        return default;
    }
}
