using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>
/// A job survives its worker: a stopping worker hands the job back, and a worker that died mid-job (its row still
/// says running) is recovered at the next start; either way training resumes from the last checkpoint and no epoch
/// is lost or repeated.
/// </summary>
public abstract class JobResumeTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private string? _postgres;

    protected abstract Task<string?> CreateDatabaseAsync();

    public async Task InitializeAsync() => _postgres = await CreateDatabaseAsync();

    public Task DisposeAsync()
    {
        _data.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_job_resumes_from_its_last_checkpoint_after_its_worker_stops(bool crashed)
    {
        // Enough epochs that the job is still training when its worker stops, however fast this machine trains.
        const int epochs = 25;
        string jobId;
        var first = new ServiceFactory(_data.Path, _postgres);
        await using (first)
        {
            using var client = first.CreateClient();
            string dataset = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer", "card_lost", "greeting"], 150, seed: 21));
            jobId = (string)(await JobsApi.CreateAsync(client, new { training_dataset_id = dataset, model = "resumed", hyperparameters = new { epochs, batch_size = 8, early_stopping_patience = 0 } }))["id"]!;
            await WaitForCheckpointAsync(client, jobId);
        }

        // The stopped worker handed the job back, queued, with its checkpoints.
        await using (var scope = new ServiceFactory(_data.Path, _postgres, new Dictionary<string, string?> { ["Jobs:Role"] = "Api" }))
        {
            using var services = scope.Services.CreateScope();
            var db = services.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var job = await db.FineTuningJobs.SingleAsync(j => j.Id == jobId);
            Assert.Equal(FineTuningJobStatus.Queued, job.Status);
            Assert.Null(job.LeaseOwner);
            if (crashed)
            {
                // What a killed worker leaves: the row still running under a lease nobody will renew.
                job.Status = FineTuningJobStatus.Running;
                job.LeaseOwner = "dead-host:1234:0";
                job.LeaseExpiresAt = DateTimeOffset.UtcNow.AddSeconds(-1);
                job.ConcurrencyStamp = Guid.NewGuid();
                await db.SaveChangesAsync();
            }
        }

        await using var second = new ServiceFactory(_data.Path, _postgres);
        using var secondClient = second.CreateClient();
        var done = await JobsApi.WaitForEndAsync(secondClient, jobId, TimeSpan.FromSeconds(420));

        Assert.True((string)done["status"]! == "succeeded", done.ToJsonString());
        var checkpoints = await (await secondClient.GetAsync($"/v1/fine-tuning/jobs/{jobId}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(Enumerable.Range(1, epochs), checkpoints["data"]!.AsArray().Select(c => (int)c!["epoch"]!));
        Assert.Equal(Enumerable.Range(1, epochs).Select(e => e == epochs), checkpoints["data"]!.AsArray().Select(c => (bool)c!["retained"]!));
        var events = await JobsApi.EventsAsync(secondClient, jobId);
        var resumed = Assert.Single(events, e => (string)e!["type"]! == "resumed")!;
        Assert.True((int)resumed["data"]!["epoch"]! >= 1);
        Assert.Equal(epochs, events.Count(e => (string)e!["type"]! == "epoch_completed"));
    }

    private static async Task WaitForCheckpointAsync(HttpClient client, string jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            var checkpoints = await (await client.GetAsync($"/v1/fine-tuning/jobs/{jobId}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK);
            if (checkpoints["data"]!.AsArray().Count > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("The job wrote no checkpoint within 120 s.");
    }
}

public sealed class JobResumeOnSqliteTests : JobResumeTests
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class JobResumeOnPostgresTests : JobResumeTests
{
    protected override async Task<string?> CreateDatabaseAsync() => await (await SharedPostgres.GetAsync()).CreateDatabaseAsync("resume");
}
