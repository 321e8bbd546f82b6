using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Models;

/// <summary>
/// The bug report's case end to end: a two-label sentiment model trained through the API with every default, then
/// asked the plainest question on both protocols. The default <c>top_k</c> (3) once exceeded its label count, and
/// every binary classifier refused the default predict request with a 400.
/// </summary>
public sealed class TwoLabelModelTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private static readonly string[] Positive = ["很快", "好吃", "味道足", "量大", "新鲜", "服务好", "很满意", "还会再来"];

    private static readonly string[] Negative = ["太慢", "难吃", "没味道", "量少", "不新鲜", "服务差", "很失望", "不会再来"];

    [Fact]
    public async Task The_default_predict_request_succeeds_on_a_two_label_model_trained_with_defaults()
    {
        var client = service.Client;
        string dataset = await JobsApi.UploadAsync(client, Reviews(perLabel: 30, seed: 4), "reviews.csv");
        var created = await JobsApi.CreateAsync(client, new { training_dataset_id = dataset, model = "zh" });
        var job = await JobsApi.WaitForEndAsync(client, (string)created["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());

        var response = await (await client.PostAsync("/v1/models/zh/predict", new StringContent("""{"inputs": ["很快，好吃，味道足，量大"]}""", Encoding.UTF8, "application/json")))
            .ReadJsonAsync(HttpStatusCode.OK);
        var prediction = Assert.Single(response["predictions"]!.AsArray())!;
        Assert.Equal("positive", (string?)prediction["label"]);
        Assert.False((bool)prediction["out_of_scope"]!);
        Assert.Equal(["positive", "negative"], prediction["top_k"]!.AsArray().Select(s => (string)s!["label"]!));

        var infer = await (await client.PostAsync("/v2/models/zh/infer", new StringContent(
            """{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["很快，好吃，味道足，量大"]}]}""", Encoding.UTF8, "application/json")))
            .ReadJsonAsync(HttpStatusCode.OK);
        var outputs = infer["outputs"]!.AsArray();
        Assert.Equal("positive", (string)outputs.Single(o => (string)o!["name"]! == "label")!["data"]![0]!);
        Assert.Equal([1L, 2L], outputs.Single(o => (string)o!["name"]! == "probabilities")!["shape"]!.AsArray().Select(d => (long)d!));
    }

    /// <summary>Short restaurant reviews, each three phrases of one sentiment.</summary>
    private static string Reviews(int perLabel, int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder("text,label\n");
        foreach (var (label, phrases) in (ReadOnlySpan<(string, string[])>)[("positive", Positive), ("negative", Negative)])
        {
            for (int i = 0; i < perLabel; i++)
            {
                csv.Append(string.Join('，', Enumerable.Range(0, 3).Select(_ => phrases[random.Next(phrases.Length)]))).Append(',').Append(label).Append('\n');
            }
        }

        return csv.ToString();
    }
}
