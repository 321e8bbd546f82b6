using System.Net;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence.Artifacts;
using TextClassification.TestSupport;
using TextClassification.Training.Jobs;

namespace TextClassification.Api.Tests.Maintenance;

/// <summary>
/// What the service keeps on disk and what it frees: checkpoint retention as configured, deleting an ended job's
/// checkpoints, and the orphan collection, all on a real service with real files.
/// </summary>
public sealed class ArtifactRetentionTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("retention");
    private ServiceFactory _service = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _service = new ServiceFactory(_data.Path, null, new Dictionary<string, string?>
        {
            ["Jobs:Checkpoints:KeepLast"] = "2",
            ["Jobs:Checkpoints:KeepBest"] = "true",
        });
        _client = _service.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _service.DisposeAsync();
        _data.Dispose();
    }

    private string Artifacts => _data.Combine("artifacts");

    [Fact]
    public async Task A_job_keeps_its_newest_checkpoints_and_its_best_as_configured_and_deleting_its_checkpoints_frees_their_files()
    {
        string dataset = await JobsApi.UploadAsync(_client, SyntheticIntents.Csv(["balance", "transfer", "card_lost", "greeting"], 25, seed: 5));
        string job = (string)(await JobsApi.CreateAsync(_client, new { training_dataset_id = dataset, model = "kept", hyperparameters = new { epochs = 6, batch_size = 8, early_stopping_patience = 0 } }))["id"]!;
        Assert.Equal("succeeded", (string)(await JobsApi.WaitForEndAsync(_client, job, TimeSpan.FromMinutes(3)))["status"]!);

        var checkpoints = (await (await _client.GetAsync($"/v1/fine-tuning/jobs/{job}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray();
        Assert.Equal(6, checkpoints.Count);
        int best = checkpoints
            .OrderByDescending(c => (double)c!["metrics"]!["validation_macro_f1"]!).ThenBy(c => (int)c!["epoch"]!)
            .Select(c => (int)c!["epoch"]!).First();
        // Seeded data and training: an early epoch is the best, so keeping it is the configured choice at work.
        Assert.True(best < 5, $"epoch {best} was the best; the test needs an earlier one");
        int[] expected = [best, 5, 6];
        Assert.Equal(expected, checkpoints.Where(c => (bool)c!["retained"]!).Select(c => (int)c!["epoch"]!).Order());
        Assert.Equal(expected.Select(e => $"epoch-{e:D4}.ckpt"), CheckpointFiles(job));

        var freed = await (await _client.DeleteAsync($"/v1/fine-tuning/jobs/{job}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(expected.Length, (int)freed["files_deleted"]!);
        Assert.Equal(checkpoints.Where(c => (bool)c!["retained"]!).Sum(c => (long)c!["size_bytes"]!), (long)freed["bytes_freed"]!);
        Assert.Empty(CheckpointFiles(job));
        var after = (await (await _client.GetAsync($"/v1/fine-tuning/jobs/{job}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray();
        Assert.Equal(6, after.Count);
        Assert.All(after, c => Assert.False((bool)c!["retained"]!));
        Assert.Equal(0, (int)(await (await _client.DeleteAsync($"/v1/fine-tuning/jobs/{job}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK))["files_deleted"]!);

        // The published model keeps its own copy: it still serves.
        await (await _client.PostAsync("/v1/models/kept/predict", HttpAssertions.JsonBody(new { inputs = new[] { "hello there" } }))).ReadJsonAsync(HttpStatusCode.OK);
        await (await _client.DeleteAsync("/v1/fine-tuning/jobs/ftjob_nosuchjob/checkpoints")).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_job_that_is_queued_or_running_keeps_its_checkpoints()
    {
        string dataset = await JobsApi.UploadAsync(_client, SyntheticIntents.Csv(["balance", "transfer"], 200, seed: 6));
        string job = (string)(await JobsApi.CreateAsync(_client, new { training_dataset_id = dataset, model = "busy", hyperparameters = new { epochs = 200, batch_size = 8, early_stopping_patience = 0 } }))["id"]!;

        var problem = await (await _client.DeleteAsync($"/v1/fine-tuning/jobs/{job}/checkpoints")).ReadProblemAsync(HttpStatusCode.Conflict);

        Assert.Contains("resuming it needs its checkpoints", problem.AllText(), StringComparison.Ordinal);
        await _client.PostAsync($"/v1/fine-tuning/jobs/{job}/cancel", null);
        await JobsApi.WaitForEndAsync(_client, job, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task The_orphan_collection_deletes_unreferenced_files_past_the_grace_period_and_reports_what_it_freed()
    {
        string dataset = await JobsApi.UploadAsync(_client, SyntheticIntents.Csv(["balance", "transfer"], 10, seed: 7));
        var old = DateTime.UtcNow.AddDays(-2);
        string referenced = Assert.Single(Directory.GetFiles(Path.Combine(Artifacts, "datasets")));
        File.SetLastWriteTimeUtc(referenced, old);
        string orphan = Write("datasets/ds_crashed-before-its-row.jsonl", 1000, old);
        string abandoned = Write("checkpoints/ftjob_x/epoch-0001.ckpt.0123456789abcdef.partial", 500, old);
        string young = Write("datasets/ds_row-being-written.jsonl", 300, DateTime.UtcNow);
        string keyCheckLike = Write("NOT-AN-ARTIFACT", 10, old);

        var report = await _service.Services.GetRequiredService<OrphanArtifactCollector>().RunAsync(TimeSpan.FromDays(1), CancellationToken.None);

        Assert.Equal(2, report.Deleted);
        Assert.Equal(1500, report.FreedBytes);
        Assert.Equal(1, report.SparedYoung);
        Assert.False(File.Exists(orphan));
        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(young));
        Assert.True(File.Exists(referenced));
        Assert.True(File.Exists(keyCheckLike));
        await (await _client.GetAsync($"/v1/datasets/{dataset}/rows")).ReadJsonAsync(HttpStatusCode.OK);

        // The worker registered the recurring job that runs this (and any pending key rotation) on its schedule.
        using var connection = _service.Services.GetRequiredService<JobStorage>().GetConnection();
        var recurring = Assert.Single(Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection), j => j.Id == ArtifactMaintenanceJob.RecurringJobId);
        Assert.Equal("17 * * * *", recurring.Cron);
    }

    [Fact]
    public async Task With_a_previous_key_configured_the_worker_starts_the_rotation_at_once_and_then_the_old_key_can_go()
    {
        using var data = new TempDirectory("rotation");
        string oldKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string newKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string dataset;
        await using (var first = new ServiceFactory(data.Path, null, new Dictionary<string, string?> { ["Persistence:EncryptionKey"] = oldKey }))
        {
            using var client = first.CreateClient();
            dataset = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer"], 10, seed: 9));
        }

        string file = Assert.Single(Directory.GetFiles(Path.Combine(data.Path, "artifacts", "datasets")));
        await using (var rotating = new ServiceFactory(data.Path, null, new Dictionary<string, string?>
        {
            ["Persistence:EncryptionKey"] = newKey,
            ["Persistence:PreviousEncryptionKeys:0"] = oldKey,
        }))
        {
            using var client = rotating.CreateClient();
            string newId = TextClassification.Persistence.Artifacts.ArtifactEncryptionKey.Parse(newKey).Id;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (KeyIdOf(file) != newId && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Equal(newId, KeyIdOf(file));
            await (await client.GetAsync($"/v1/datasets/{dataset}/rows")).ReadJsonAsync(HttpStatusCode.OK);
            // The key check file is resealed last; wait for it before dropping the old key.
            string check = Path.Combine(data.Path, "artifacts", "ENCRYPTION-KEY-CHECK");
            while (KeyIdOf(check) != newId && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        await using var after = new ServiceFactory(data.Path, null, new Dictionary<string, string?> { ["Persistence:EncryptionKey"] = newKey });
        using var reader = after.CreateClient();
        await (await reader.GetAsync($"/v1/datasets/{dataset}/rows")).ReadJsonAsync(HttpStatusCode.OK);
    }

    private static string KeyIdOf(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        byte[] header = new byte[32];
        stream.ReadExactly(header);
        return Convert.ToHexStringLower(header.AsSpan(16, 8));
    }

    private string Write(string key, int size, DateTime lastWrite)
    {
        string path = Path.Combine(Artifacts, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[size]);
        File.SetLastWriteTimeUtc(path, lastWrite);
        return path;
    }

    private IEnumerable<string> CheckpointFiles(string job)
    {
        string directory = Path.Combine(Artifacts, "checkpoints", job);
        return Directory.Exists(directory) ? Directory.GetFiles(directory).Select(f => Path.GetFileName(f)).Order().ToList() : [];
    }
}
