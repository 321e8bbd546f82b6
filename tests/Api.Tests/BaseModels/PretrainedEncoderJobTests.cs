using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Api.Tests.Models;

namespace TextClassification.Api.Tests.BaseModels;

/// <summary>
/// Fine-tuning the built-in MiniLM through the API only: listed as a base model, fine-tuned by a job, exported with
/// parity, registered, served through /v1 and /v2, and the downloaded file gives the same labels outside the service.
/// </summary>
public sealed class PretrainedEncoderJobTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private static readonly string[] Labels = ["balance", "card_lost", "weather"];
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(5);

    private HttpClient Client => service.Client;

    [Fact]
    public async Task The_built_in_encoder_is_listed_with_its_shape_checksum_and_licence()
    {
        var list = await (await Client.GetAsync("/v1/base-models")).ReadJsonAsync(HttpStatusCode.OK);
        var minilm = list["data"]!.AsArray().Single(m => (string)m!["id"]! == "minilm-l6")!;

        Assert.Equal("bert", (string)minilm["architecture"]!);
        Assert.Equal((384, 6, 12, 30_522, 512), ((int)minilm["hidden_size"]!, (int)minilm["layers"]!, (int)minilm["heads"]!, (int)minilm["vocab_size"]!, (int)minilm["max_sequence_length"]!));
        Assert.Equal(22_565_376, (long)minilm["parameters"]!);
        Assert.Equal("Apache-2.0", (string)minilm["license"]!);
        Assert.Contains("all-MiniLM-L6-v2", (string)minilm["source"]!, StringComparison.Ordinal);
        Assert.True((bool)minilm["built_in"]!);
        string onnx = Path.Combine(AppContext.BaseDirectory, "base-models", "minilm-l6", "model.onnx");
        await using (var file = File.OpenRead(onnx))
        {
            Assert.Equal(Convert.ToHexStringLower(await SHA256.HashDataAsync(file)), (string)minilm["sha256"]!);
        }

        var one = await (await Client.GetAsync("/v1/base-models/minilm-l6")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(minilm.ToJsonString(), one.ToJsonString());
        var missing = await (await Client.GetAsync("/v1/base-models/bert-huge")).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("bert-huge", missing.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_fine_tunes_minilm_and_the_model_is_served_and_runs_outside_the_service()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 30, seed: 21));
        var created = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = dataset,
            model = "minilm-intents",
            base_model = "minilm-l6",
            // The top layer and the head: enough for these key-word intents, and quick on two cores.
            hyperparameters = new { epochs = 2, train_layers = 1, learning_rate = 2e-4, batch_size = 16 },
        });
        Assert.Equal("bert", (string)created["architecture"]!);
        Assert.Equal("minilm-l6", (string)created["base_model"]!);
        Assert.Equal(1, (int)created["hyperparameters"]!["train_layers"]!);
        Assert.Equal(64, (int)created["hyperparameters"]!["max_sequence_length"]!);

        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, JobTimeout);
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        Assert.True((double)job["metrics"]!["validation_accuracy"]! >= 0.9, job.ToJsonString());
        int version = (int)job["result"]!["version"]!;

        var described = await (await Client.GetAsync($"/v1/models/minilm-intents/versions/{version}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("bert", (string)described["architecture"]!);
        Assert.True((double)described["parity"]!["max_abs_difference"]! <= 1e-4, described.ToJsonString());

        string[] texts = ["i lost my card yesterday", "what is my account balance", "will it rain tomorrow", "hello there"];
        var v1 = await (await Client.PostAsync("/v1/models/minilm-intents/predict", HttpAssertions.JsonBody(new { inputs = texts })))
            .ReadJsonAsync(HttpStatusCode.OK);
        var v1Labels = v1["predictions"]!.AsArray().Select(p => (string)p!["top_k"]![0]!["label"]!).ToArray();
        Assert.Equal(["card_lost", "balance", "weather"], v1Labels.Take(3));

        var v2 = await (await Client.PostAsync("/v2/models/minilm-intents/infer", HttpAssertions.JsonBody(new
        {
            inputs = new[] { new { name = "text", shape = new[] { texts.Length }, datatype = "BYTES", data = texts } },
        }))).ReadJsonAsync(HttpStatusCode.OK);
        var probabilities = v2["outputs"]!.AsArray().Single(o => (string)o!["name"]! == "probabilities")!["data"]!.AsArray().Select(v => (float)v!).ToArray();
        var labels = described["labels"]!.AsArray().Select(l => (string)l!).ToArray();
        var v2Labels = Enumerable.Range(0, texts.Length).Select(row => labels[PlainOnnxRuntime.ArgMax(probabilities[(row * labels.Length)..((row + 1) * labels.Length)])]).ToArray();
        Assert.Equal(v1Labels, v2Labels);

        byte[] onnx = await (await Client.GetAsync($"/v1/models/minilm-intents/versions/{version}/onnx")).Content.ReadAsByteArrayAsync();
        Assert.Equal(v1Labels, PlainOnnxRuntime.Labels(onnx, texts));
    }

    [Fact]
    public async Task Jobs_that_cannot_start_from_an_encoder_are_refused_naming_the_field()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 5, seed: 22));

        async Task<JsonNode> Refused(object body, HttpStatusCode status) =>
            await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(body))).ReadProblemAsync(status);

        var unknown = await Refused(new { training_dataset_id = dataset, model = "x", base_model = "bert-huge" }, HttpStatusCode.BadRequest);
        Assert.Equal("base_model", (string)unknown["errors"]![0]!["field"]!);
        Assert.Contains("minilm-l6", unknown.AllText(), StringComparison.Ordinal);

        var noEncoder = await Refused(new { training_dataset_id = dataset, model = "x", architecture = "bert" }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("base_model", (string)noEncoder["errors"]![0]!["field"]!);

        var otherArchitecture = await Refused(new { training_dataset_id = dataset, model = "x", base_model = "minilm-l6", architecture = "ngram-bag" }, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("architecture", (string)otherArchitecture["errors"]![0]!["field"]!);

        var tooManyLayers = await Refused(new { training_dataset_id = dataset, model = "x", base_model = "minilm-l6", hyperparameters = new { train_layers = 99 } }, HttpStatusCode.BadRequest);
        Assert.Equal("hyperparameters.train_layers", (string)tooManyLayers["errors"]![0]!["field"]!);

        var notALayerCount = await (await Client.PostAsync("/v1/fine-tuning/jobs", new StringContent(
            $$$"""{"training_dataset_id": "{{{dataset}}}", "model": "x", "base_model": "minilm-l6", "hyperparameters": {"train_layers": "most"}}""",
            System.Text.Encoding.UTF8, "application/json"))).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("train_layers", notALayerCount.AllText(), StringComparison.Ordinal);

        var jobs = await (await Client.GetAsync("/v1/fine-tuning/jobs?limit=100")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(jobs["data"]!.AsArray(), j => (string)j!["model"]! == "x");
    }
}
