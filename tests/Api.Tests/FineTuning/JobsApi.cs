using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>Calls the jobs API the way a client does, with the waiting a client would do.</summary>
internal static class JobsApi
{
    public static async Task<string> UploadAsync(HttpClient client, string csv, string name = "synthetic.csv")
    {
        var created = await (await client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(csv, name))).ReadJsonAsync(HttpStatusCode.Created);
        return (string)created["id"]!;
    }

    public static async Task<JsonNode> CreateAsync(HttpClient client, object body) =>
        await (await client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(body))).ReadJsonAsync(HttpStatusCode.Created);

    public static async Task<JsonNode> GetAsync(HttpClient client, string id) =>
        await (await client.GetAsync($"/v1/fine-tuning/jobs/{id}")).ReadJsonAsync(HttpStatusCode.OK);

    /// <summary>Polls until the job's status satisfies <paramref name="done"/>; fails with the job's last state on time-out.</summary>
    public static async Task<JsonNode> WaitAsync(HttpClient client, string id, Func<JsonNode, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode job;
        do
        {
            job = await GetAsync(client, id);
            if (done(job))
            {
                return job;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"Job {id} did not get there within {timeout.TotalSeconds} s; last state: {job.ToJsonString()}");
        return job;
    }

    public static Task<JsonNode> WaitForEndAsync(HttpClient client, string id, TimeSpan timeout) =>
        WaitAsync(client, id, job => (string)job["status"]! is "succeeded" or "failed" or "cancelled", timeout);

    public static async Task<JsonArray> EventsAsync(HttpClient client, string id) =>
        (await (await client.GetAsync($"/v1/fine-tuning/jobs/{id}/events?limit=1000")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray();
}
