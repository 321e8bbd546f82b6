using System.Text.Json.Nodes;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.TestSupport;
using TextClassification.Training.Jobs;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>
/// A job whose worker died comes back to the queue as soon as the dead worker's lease runs out, not when Hangfire's
/// invisibility timeout (minutes) hands its delivery out again; and two workers noticing the same expired lease queue
/// the job once between them. PostgreSQL only: with SQLite the one process is the only worker there is.
/// </summary>
public sealed class ExpiredLeaseTakeoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string DeadWorker = "dead-worker";
    private readonly TempDirectory _data = new("lease-takeover");
    private string _postgres = null!;

    public async Task InitializeAsync() => _postgres = await (await SharedPostgres.GetAsync()).CreateDatabaseAsync("takeover");

    public Task DisposeAsync()
    {
        _data.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_running_worker_takes_over_a_dead_workers_job_as_soon_as_its_lease_runs_out_and_finishes_it()
    {
        await using var api = new ServiceFactory(_data.Path, _postgres, new Dictionary<string, string?> { ["Jobs:Role"] = "Api" });
        using var client = api.CreateClient();
        string dataset = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer", "greeting"], 20, seed: 41));
        var preflight = await (await client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new
        {
            training_dataset_id = dataset, model = "taken-over", dry_run = true, hyperparameters = new { epochs = 2, seed = 3 },
        }))).ReadJsonAsync(System.Net.HttpStatusCode.OK);

        await using var worker = new ServiceFactory(_data.Path, _postgres, new Dictionary<string, string?>
        {
            ["Jobs:Role"] = "Worker",
            ["Jobs:LeaseSeconds"] = "5",
            ["Jobs:WorkerName"] = "live-worker",
        });
        _ = worker.Services; // starts the worker, with nothing to do yet

        // What a killed worker leaves: the row running under a lease nobody renews (running out shortly), and a
        // Hangfire delivery that no other worker receives before the invisibility timeout (here: none at all).
        var leaseEnds = DateTimeOffset.UtcNow.AddSeconds(2);
        string jobId = ResourceId.New(ResourceId.FineTuningJobPrefix);
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            db.FineTuningJobs.Add(new FineTuningJob
            {
                Id = jobId,
                Status = FineTuningJobStatus.Running,
                Model = "taken-over",
                Architecture = (string)preflight["architecture"]!,
                HyperparametersJson = preflight["hyperparameters"]!.ToJsonString(),
                TrainingDatasetId = dataset,
                ValidationSplit = 0.1,
                Device = "cpu",
                Worker = DeadWorker,
                LeaseOwner = "dead-host:1:0",
                LeaseExpiresAt = leaseEnds,
                Attempts = 1,
                CreatedAt = DateTimeOffset.UtcNow,
                StartedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        await JobsApi.WaitAsync(client, jobId, j => (string?)j["worker"] == "live-worker", TimeSpan.FromSeconds(30));
        var claimedAfter = DateTimeOffset.UtcNow - leaseEnds;
        var done = await JobsApi.WaitForEndAsync(client, jobId, TimeSpan.FromSeconds(120));
        output.WriteLine($"claimed by live-worker {claimedAfter.TotalSeconds:F2} s after the dead worker's lease ran out (poll every {ExpiredLeaseTakeover.PollInterval(5).TotalSeconds} s)");

        Assert.True((string)done["status"]! == "succeeded", done.ToJsonString());
        Assert.Equal("live-worker", (string)done["worker"]!);
        // The poll interval, the queue's one-second poll and a busy machine's slack; Hangfire alone would take 5 minutes.
        Assert.True(claimedAfter < TimeSpan.FromSeconds(8), $"claimed {claimedAfter.TotalSeconds:F1} s after the lease ran out");
        var events = await JobsApi.EventsAsync(client, jobId);
        var takeover = Assert.Single(events, e => (string?)e!["data"]?["worker"] == DeadWorker)!;
        Assert.Equal("queued", (string)takeover["data"]!["status"]!);
        Assert.Equal("live-worker", (string)takeover["data"]!["released_by"]!);
        Assert.Contains($"The lease of worker {DeadWorker} ran out", (string)takeover["message"]!);
        var claim = Assert.Single(events, e => (string?)e!["data"]?["status"] == "running")!;
        Assert.Equal("live-worker", (string)claim["data"]!["worker"]!);
        Assert.StartsWith("Job running on live-worker (cpu; attempt 2, resuming)", (string)claim["message"]!);
    }

    [Fact]
    public async Task Two_workers_polling_at_once_queue_each_expired_job_exactly_once()
    {
        // An API-only host: its migrations and Hangfire storage, but no worker of its own to poll or to run jobs.
        await using var api = new ServiceFactory(_data.Path, _postgres, new Dictionary<string, string?> { ["Jobs:Role"] = "Api" });
        var now = DateTimeOffset.UtcNow;
        var expired = Enumerable.Range(0, 16).Select(_ => FakeJob(FineTuningJobStatus.Running, now.AddSeconds(-1))).ToList();
        var cancelled = FakeJob(FineTuningJobStatus.Running, now.AddSeconds(-1));
        cancelled.CancelRequested = true;
        var live = FakeJob(FineTuningJobStatus.Running, now.AddSeconds(60));
        var queued = FakeJob(FineTuningJobStatus.Queued, leaseExpiresAt: null);
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            db.FineTuningJobs.AddRange([.. expired, cancelled, live, queued]);
            await db.SaveChangesAsync();
        }

        var first = Poller(api, "worker-a");
        var second = Poller(api, "worker-b");
        var rounds = await Task.WhenAll(
            first.TakeOverExpiredLeasesAsync(CancellationToken.None), second.TakeOverExpiredLeasesAsync(CancellationToken.None),
            first.TakeOverExpiredLeasesAsync(CancellationToken.None), second.TakeOverExpiredLeasesAsync(CancellationToken.None));

        var changed = rounds.SelectMany(ids => ids).ToList();
        Assert.Equal(changed.Count, changed.Distinct().Count());
        Assert.Equal(expired.Select(j => j.Id).Append(cancelled.Id).Order(), changed.Order());
        output.WriteLine($"changes per poll: {string.Join(", ", rounds.Select(r => r.Count))}");

        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var rows = await db.FineTuningJobs.AsNoTracking().ToDictionaryAsync(j => j.Id);
            var events = (await db.JobEvents.AsNoTracking().ToListAsync()).ToLookup(e => e.JobId);
            foreach (var job in expired)
            {
                var row = rows[job.Id];
                Assert.Equal(FineTuningJobStatus.Queued, row.Status);
                Assert.Null(row.LeaseOwner);
                Assert.Null(row.LeaseExpiresAt);
                Assert.NotNull(row.BackgroundJobId);
                var lapse = Assert.Single(events[job.Id]);
                Assert.Equal(DeadWorker, (string?)JsonNode.Parse(lapse.DataJson!)!["worker"]);
            }

            Assert.Equal(expired.Count, rows.Values.Select(r => r.BackgroundJobId).OfType<string>().Distinct().Count());
            Assert.Equal(FineTuningJobStatus.Cancelled, rows[cancelled.Id].Status);
            Assert.NotNull(rows[cancelled.Id].FinishedAt);
            Assert.Null(rows[cancelled.Id].BackgroundJobId);
            Assert.Single(events[cancelled.Id]);
            Assert.Equal(FineTuningJobStatus.Running, rows[live.Id].Status);
            Assert.Equal(live.LeaseOwner, rows[live.Id].LeaseOwner);
            Assert.Equal(FineTuningJobStatus.Queued, rows[queued.Id].Status);
            Assert.Empty(events[live.Id]);
            Assert.Empty(events[queued.Id]);
        }

        Assert.Equal(expired.Count, api.Services.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedCount("default"));
    }

    private static ExpiredLeaseTakeover Poller(ServiceFactory host, string workerName) =>
        ActivatorUtilities.CreateInstance<ExpiredLeaseTakeover>(host.Services, Options.Create(new JobsOptions { WorkerName = workerName }));

    private static FineTuningJob FakeJob(FineTuningJobStatus status, DateTimeOffset? leaseExpiresAt) => new()
    {
        Id = ResourceId.New(ResourceId.FineTuningJobPrefix),
        Status = status,
        Model = "fake",
        Architecture = "ngram-bag",
        HyperparametersJson = "{}",
        TrainingDatasetId = "ds_fake",
        Worker = leaseExpiresAt is null ? null : DeadWorker,
        LeaseOwner = leaseExpiresAt is null ? null : $"dead-host:1:{Guid.NewGuid():N}",
        LeaseExpiresAt = leaseExpiresAt,
        Attempts = leaseExpiresAt is null ? 0 : 1,
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
