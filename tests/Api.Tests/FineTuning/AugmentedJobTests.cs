using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>The <c>augmentation</c> hyperparameter through the jobs API: checked naming the field, and trained on.</summary>
public sealed class AugmentedJobTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private static readonly string[] Labels = ["balance", "transfer", "card_lost", "greeting"];

    private HttpClient Client => service.Client;

    [Fact]
    public async Task A_small_job_with_augmentation_trains_on_the_variants_too_and_publishes()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 30, seed: 3));
        var body = new JsonObject
        {
            ["training_dataset_id"] = dataset,
            ["model"] = "augmented-intents",
            ["hyperparameters"] = JsonNode.Parse("""{"epochs": 2, "batch_size": 16, "augmentation": {"word_deletion": 0.1, "typos": 0.1, "copies": 2}}"""),
        };

        var dryRun = body.DeepClone().AsObject();
        dryRun["dry_run"] = true;
        var preflight = await PostAsync(dryRun, HttpStatusCode.OK);
        var created = await PostAsync(body, HttpStatusCode.Created);
        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, TimeSpan.FromSeconds(120));

        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        Assert.Equal("augmented-intents", (string)job["result"]!["model"]!);
        var augmentation = job["hyperparameters"]!["augmentation"]!;
        Assert.Equal(2, (int)augmentation["copies"]!);
        Assert.Equal(0.1, (double)augmentation["typos"]!);
        Assert.Equal(0.0, (double)augmentation["word_swap"]!);
        // Each epoch trains on the training rows and two variants of each, in batches of 16.
        int rows = (int)preflight["training_rows"]!;
        Assert.Equal(2 * ((3 * rows + 15) / 16), (int)job["progress"]!["total_steps"]!);
        Assert.True((double)job["metrics"]!["validation_accuracy"]! > 0.5, job.ToJsonString());
    }

    [Theory]
    [InlineData("""{"word_deletion": 1.5}""", "hyperparameters.augmentation.word_deletion")]
    [InlineData("""{"typos": -0.1}""", "hyperparameters.augmentation.typos")]
    [InlineData("""{"word_swap": 0.1, "copies": 0}""", "hyperparameters.augmentation.copies")]
    [InlineData("""{"word_swap": 0.1, "copies": 100}""", "hyperparameters.augmentation.copies")]
    [InlineData("""{"back_translation": 0.2}""", "hyperparameters.augmentation.back_translation")]
    [InlineData("""{"word_swap": "often"}""", "hyperparameters.augmentation.word_swap")]
    [InlineData("\"typos\"", "hyperparameters.augmentation")]
    public async Task Bad_augmentation_settings_are_refused_naming_the_field(string augmentation, string field)
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 3, seed: 4));
        string body = $$$"""{"training_dataset_id": "{{{dataset}}}", "model": "m", "hyperparameters": {"augmentation": {{{augmentation}}}}}""";

        var response = await Client.PostAsync("/v1/fine-tuning/jobs", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(problem["errors"]!.AsArray(), e => (string?)e!["field"] == field);
    }

    private async Task<JsonNode> PostAsync(JsonObject body, HttpStatusCode status) =>
        await (await Client.PostAsync("/v1/fine-tuning/jobs", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"))).ReadJsonAsync(status);
}
