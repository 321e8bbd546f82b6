using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Models;

/// <summary>
/// One service with one model trained twice through the API (versions 1 and 2 of <see cref="ModelName"/>), shared
/// by the serving tests: training is the slow part, and every test reads or predicts rather than retrains.
/// </summary>
public sealed class ServedModelFixture : IAsyncLifetime
{
    public const string ModelName = "served-intents";
    public const int MaxInputs = 16;
    public const int MaxTextLength = 500;
    public static readonly string[] Labels = ["balance", "transfer", "card_lost", "greeting", "weather"];

    private readonly TempDirectory _dataDirectory = new();

    public ServiceFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string DataDirectory => _dataDirectory.Path;

    public static IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Inference:MaxInputsPerRequest"] = MaxInputs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Inference:MaxTextLength"] = MaxTextLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Texts each label's key words make unambiguous, and one no label covers.</summary>
    public static readonly string[] Texts =
    [
        "what is the balance of my account",
        "please send money and wire it now",
        "my card was stolen and is missing",
        "hello and good morning to you",
        "is there rain in the forecast today",
        "play a song about football and pizza",
    ];

    public JsonNode Version1Job { get; private set; } = null!;

    public JsonNode Version2Job { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Factory = new ServiceFactory(_dataDirectory.Path, null, Settings);
        Client = Factory.CreateClient();
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv([.. Labels, "oos"], 30, seed: 3));
        Version1Job = await TrainAsync(dataset, seed: 1);
        Version2Job = await TrainAsync(dataset, seed: 2);
    }

    private async Task<JsonNode> TrainAsync(string dataset, int seed)
    {
        var created = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = dataset,
            model = ModelName,
            out_of_scope_label = "oos",
            hyperparameters = new { epochs = 4, seed },
        });
        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        return job;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        _dataDirectory.Dispose();
    }
}
