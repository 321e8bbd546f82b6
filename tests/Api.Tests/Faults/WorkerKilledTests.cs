using System.Net;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Faults;

/// <summary>
/// The service process killed with SIGKILL in the middle of training: after a restart on the same data, the job
/// resumes from its last checkpoint and succeeds, and every dataset accepted before the kill is still there.
/// </summary>
public sealed class WorkerKilledTests
{
    [Fact]
    public async Task A_job_whose_process_was_killed_resumes_from_its_checkpoint_after_a_restart()
    {
        using var data = new TempDirectory();
        string jobId;
        string datasetId;
        // Enough epochs that the job is still training when the process dies, however fast this machine trains.
        const int epochs = 25;
        await using (var doomed = await ServiceProcess.StartAsync(data.Path))
        {
            using var client = doomed.CreateClient();
            datasetId = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer", "card_lost", "greeting"], 150, seed: 31));
            jobId = (string)(await JobsApi.CreateAsync(client, new { training_dataset_id = datasetId, model = "killed", hyperparameters = new { epochs, batch_size = 8, early_stopping_patience = 0 } }))["id"]!;
            await JobsApi.WaitAsync(client, jobId, job => (long?)job["progress"]?["step"] > 0, TimeSpan.FromSeconds(120));
            var checkpoints = await WaitForCheckpointsAsync(client, jobId);
            Assert.True(checkpoints < epochs, "the job finished before it could be killed");
            await doomed.KillAsync();
        }

        await using var restarted = await ServiceProcess.StartAsync(data.Path);
        using var again = restarted.CreateClient();
        await (await again.GetAsync($"/v1/datasets/{datasetId}")).ReadJsonAsync(HttpStatusCode.OK);
        var done = await JobsApi.WaitForEndAsync(again, jobId, TimeSpan.FromSeconds(420));

        Assert.True((string)done["status"]! == "succeeded", done.ToJsonString());
        var stored = await (await again.GetAsync($"/v1/fine-tuning/jobs/{jobId}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(Enumerable.Range(1, epochs), stored["data"]!.AsArray().Select(c => (int)c!["epoch"]!));
        var events = await JobsApi.EventsAsync(again, jobId);
        Assert.Contains(events, e => (string)e!["type"]! == "resumed");
        Assert.Equal(epochs, events.Count(e => (string)e!["type"]! == "epoch_completed"));
    }

    private static async Task<int> WaitForCheckpointsAsync(HttpClient client, string jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            int count = (await (await client.GetAsync($"/v1/fine-tuning/jobs/{jobId}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray().Count;
            if (count > 0)
            {
                return count;
            }

            await Task.Delay(20);
        }

        Assert.Fail("No checkpoint within 120 s.");
        return 0;
    }
}
