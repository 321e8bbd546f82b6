using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Models;
using static TorchSharp.torch;

namespace TextClassification.Api.Tests.BaseModels;

/// <summary>
/// Uploading Hugging Face BERT folders through <c>POST /v1/base-models</c>: the built-in encoder's own weights,
/// re-saved as a Hugging Face folder, upload and give the same hidden states; a job fine-tunes an uploaded encoder;
/// delete is refused while anything depends on it; and every bad upload gets its 4xx naming the file, field or
/// tensor, and stores nothing.
/// </summary>
public sealed class BaseModelUploadTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private HttpClient Client => service.Client;

    private static readonly string[] Texts =
    [
        "what is my account balance",
        "I lost my card yesterday, can you block it?",
        "Will it rain tomorrow in Zürich? ☔",
        "我的银行卡被冻结了",
    ];

    [Fact]
    public async Task The_built_in_weights_saved_as_a_hugging_face_folder_upload_list_and_give_the_same_hidden_states()
    {
        var folder = HuggingFaceFolder.MiniLm();
        var files = folder.Build("all-MiniLM-L6-v2/");
        byte[] archive = HuggingFaceFolder.TarGz(files);
        var created = await UploadAsync(archive, "all-MiniLM-L6-v2.tar.gz", ("id", "minilm-copy"), ("license", "Apache-2.0"), ("source", "sentence-transformers/all-MiniLM-L6-v2"))
            .ReadJsonAsync(HttpStatusCode.Created);

        Assert.Equal("minilm-copy", (string)created["id"]!);
        Assert.False((bool)created["built_in"]!);
        Assert.Equal((384, 6, 12, 30_522, 512), ((int)created["hidden_size"]!, (int)created["layers"]!, (int)created["heads"]!, (int)created["vocab_size"]!, (int)created["max_sequence_length"]!));
        Assert.Equal(22_565_376, (long)created["parameters"]!);
        Assert.True((bool)created["lower_case"]!);
        byte[] weights = files.Single(f => f.Name.EndsWith("model.safetensors", StringComparison.Ordinal)).Content;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(weights)), (string)created["sha256"]!);

        var list = await (await Client.GetAsync("/v1/base-models")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(["minilm-l6", "minilm-copy"], list["data"]!.AsArray().Select(m => (string)m!["id"]!).Where(id => id.StartsWith("minilm", StringComparison.Ordinal)));
        var one = await (await Client.GetAsync("/v1/base-models/minilm-copy")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(created.ToJsonString(), one.ToJsonString());

        // The encoder a job would get from the upload computes what the built-in one computes.
        var catalog = service.Factory.Services.GetRequiredService<BaseModelCatalog>();
        var uploaded = await catalog.LoadAsync("minilm-copy", CancellationToken.None);
        var builtIn = await catalog.LoadAsync("minilm-l6", CancellationToken.None);
        Assert.Equal(builtIn.Config, uploaded.Config);
        var uploadedTokenizer = new TextTokenizer(uploaded.Tokenizer);
        var builtInTokenizer = new TextTokenizer(builtIn.Tokenizer);
        foreach (string text in Texts)
        {
            Assert.Equal(builtInTokenizer.Encode(text), uploadedTokenizer.Encode(text));
        }

        var batch = uploadedTokenizer.EncodeBatch(Texts);
        float[] HiddenStates(PretrainedEncoder encoder)
        {
            using var module = new BertClassifier(encoder.Config with { LabelCount = 2 });
            encoder.Weights.LoadInto(module);
            module.eval();
            using var noGrad = no_grad();
            using var ids = tensor(batch.InputIds.ToArray(), [batch.Count, batch.SequenceLength]);
            using var mask = tensor(batch.AttentionMask.ToArray(), [batch.Count, batch.SequenceLength]);
            using var states = module.Encode(ids, mask);
            return states.data<float>().ToArray();
        }

        Assert.Equal(HiddenStates(builtIn), HiddenStates(uploaded));
    }

    [Fact]
    public async Task A_job_fine_tunes_an_uploaded_encoder_and_delete_waits_until_nothing_depends_on_it()
    {
        byte[] archive = HuggingFaceFolder.Zip(HuggingFaceFolder.Tiny().Build());
        var created = await UploadAsync(archive, "tiny-bert.zip", ("id", "tiny-bert"), ("pooling", "cls")).ReadJsonAsync(HttpStatusCode.Created);
        Assert.Equal("cls", (string)created["pooling"]!);
        Assert.Equal("unspecified", (string)created["license"]!);

        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(["balance", "card_lost", "weather"], 12, seed: 5));
        var job = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = dataset,
            model = "tiny-intents",
            base_model = "tiny-bert",
            hyperparameters = new { epochs = 1, batch_size = 8 },
        });
        Assert.Equal("bert", (string)job["architecture"]!);
        // The preset's 64 tokens are cut to the encoder's 32 positions.
        Assert.Equal(32, (int)job["hyperparameters"]!["max_sequence_length"]!);
        var tooLong = await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new
        {
            training_dataset_id = dataset,
            model = "tiny-intents",
            base_model = "tiny-bert",
            hyperparameters = new { max_sequence_length = 64 },
        }));
        Assert.Contains("hyperparameters.max_sequence_length", (await tooLong.ReadProblemAsync(HttpStatusCode.UnprocessableEntity)).AllText(), StringComparison.Ordinal);

        // A frozen encoder (train_layers 0) gets its own preset: the run trains the head alone, at the probe's rate.
        var frozen = await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "tiny-frozen", base_model = "tiny-bert", hyperparameters = new { train_layers = 0 } });
        Assert.Equal((40, 0.003, 0), ((int)frozen["hyperparameters"]!["epochs"]!, (double)frozen["hyperparameters"]!["learning_rate"]!, (int)frozen["hyperparameters"]!["probe_epochs"]!));
        await Client.PostAsync($"/v1/fine-tuning/jobs/{frozen["id"]}/cancel", null);
        await JobsApi.WaitForEndAsync(Client, (string)frozen["id"]!, TimeSpan.FromMinutes(3));

        var ended = await JobsApi.WaitForEndAsync(Client, (string)job["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)ended["status"]! == "succeeded", ended.ToJsonString());
        int version = (int)ended["result"]!["version"]!;

        var inUse = await (await Client.DeleteAsync("/v1/base-models/tiny-bert")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains($"tiny-intents:{version}", inUse.AllText(), StringComparison.Ordinal);

        // A bag that took its word vectors from the encoder leaves the encoder's outputs over its words in the store.
        var shortBag = await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "tiny-vectors", hyperparameters = new { epochs = 1, word_vectors = "tiny-bert" } });
        Assert.Equal("succeeded", (string)(await JobsApi.WaitForEndAsync(Client, (string)shortBag["id"]!, TimeSpan.FromMinutes(3)))["status"]!);
        Assert.NotEmpty(StoredWordVectorFiles());

        // An n-gram bag taking its word vectors from the encoder needs it until it ends (long enough to be asked).
        var bag = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = dataset,
            model = "tiny-vectors",
            hyperparameters = new { epochs = 500, early_stopping_patience = 0, word_vectors = "tiny-bert" },
        });
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync($"/v1/models/tiny-intents/versions/{version}")).StatusCode);
        var readBy = await (await Client.DeleteAsync("/v1/base-models/tiny-bert")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains((string)bag["id"]!, readBy.AllText(), StringComparison.Ordinal);
        Assert.Contains("word vectors", readBy.AllText(), StringComparison.Ordinal);
        await Client.PostAsync($"/v1/fine-tuning/jobs/{bag["id"]}/cancel", null);
        Assert.Equal("cancelled", (string)(await JobsApi.WaitForEndAsync(Client, (string)bag["id"]!, TimeSpan.FromMinutes(1)))["status"]!);
        var builtIn = await (await Client.DeleteAsync("/v1/base-models/minilm-l6")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("built into", builtIn.AllText(), StringComparison.Ordinal);
        await (await Client.DeleteAsync("/v1/base-models/no-such-model")).ReadProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync("/v1/base-models/tiny-bert")).StatusCode);
        await (await Client.GetAsync("/v1/base-models/tiny-bert")).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty(StoredFiles("tiny-bert"));
        Assert.Empty(StoredWordVectorFiles());
        var audit = await (await Client.GetAsync("/v1/audit?resource_type=base_model&resource_id=tiny-bert")).ReadJsonAsync(HttpStatusCode.OK);
        var actions = audit["data"]!.AsArray().Where(e => (string)e!["resource_id"]! == "tiny-bert").Select(e => (string)e!["action"]!).ToList();
        Assert.Contains("base_model.upload", actions);
        Assert.Contains("base_model.delete", actions);
    }

    public static TheoryData<string, string, int, string> BadFolders() => new()
    {
        // case, archive kind, status, what the problem must name
        { "pickle checkpoint", "zip", 422, "pytorch_model.bin" },
        { "missing tensor", "tar.gz", 422, "model.safetensors:bert.encoder.layer.0.output.dense.weight" },
        { "misshapen tensor", "zip", 422, "model.safetensors:bert.encoder.layer.0.attention.self.key.bias" },
        { "config disagrees with weights", "zip", 422, "config.json:hidden_size" },
        { "config has more layers than the weights", "tar.gz", 422, "config.json:num_hidden_layers" },
        { "unsupported model_type", "zip", 422, "config.json:model_type" },
        { "tanh GELU", "zip", 422, "config.json:hidden_act" },
        { "vocabulary disagrees with vocab_size", "zip", 422, "config.json:vocab_size" },
        { "no vocab.txt", "tar.gz", 422, "vocab.txt" },
        { "no config.json", "zip", 422, "config.json" },
        { "two model folders", "zip", 422, "archive" },
        { "entry climbs out with ..", "zip", 422, "archive:../" },
        { "absolute entry", "tar.gz", 422, "archive:/tmp/" },
        { "symbolic link in a tar", "tar.gz", 422, "archive:vocab.txt" },
        { "symbolic link in a zip", "zip", 422, "archive:vocab.txt" },
        { "not an archive", "text", 422, "file" },
        { "damaged zip", "damaged zip", 422, "file" },
    };

    [Theory]
    [MemberData(nameof(BadFolders))]
    public async Task A_bad_folder_is_refused_naming_what_is_wrong_and_nothing_is_stored(string refusal, string kind, int status, string names)
    {
        var folder = HuggingFaceFolder.Tiny();
        string prefix = string.Empty;
        var extra = new List<(string Name, byte[] Content)>();
        var links = new List<(string Name, string Target)>();
        switch (refusal)
        {
            case "pickle checkpoint":
                folder.Tensors.Clear();
                break;
            case "missing tensor":
                folder.Tensors.RemoveAll(t => t.Name == "bert.encoder.layer.0.output.dense.weight");
                break;
            case "misshapen tensor":
                int at = folder.Tensors.FindIndex(t => t.Name == "bert.encoder.layer.0.attention.self.key.bias");
                folder.Tensors[at] = (folder.Tensors[at].Name, [9], new float[9]);
                break;
            case "config disagrees with weights":
                folder.Config["hidden_size"] = 16;
                break;
            case "config has more layers than the weights":
                folder.Config["num_hidden_layers"] = 2;
                break;
            case "unsupported model_type":
                folder.Config["model_type"] = "roberta";
                break;
            case "tanh GELU":
                folder.Config["hidden_act"] = "gelu_new";
                break;
            case "vocabulary disagrees with vocab_size":
                folder.Files["vocab.txt"] = [.. folder.Files["vocab.txt"], .. "extra\n"u8.ToArray()];
                break;
            case "no vocab.txt":
                folder.Files.Remove("vocab.txt");
                break;
            case "two model folders":
                extra.AddRange(folder.Build("copy/"));
                break;
            case "entry climbs out with ..":
                prefix = "../";
                break;
            case "absolute entry":
                prefix = "/tmp/";
                break;
            case "symbolic link in a tar" or "symbolic link in a zip":
                folder.Files.Remove("vocab.txt");
                links.Add(("vocab.txt", "/etc/passwd"));
                break;
        }

        var files = folder.Build(prefix).Concat(extra).ToList();
        if (refusal == "no config.json")
        {
            files.RemoveAll(f => f.Name == "config.json");
        }

        if (refusal == "pickle checkpoint")
        {
            files.RemoveAll(f => f.Name == "model.safetensors");
            files.Add(("pytorch_model.bin", "PK\u0003\u0004 a pickle"u8.ToArray()));
        }

        byte[] archive = kind switch
        {
            "zip" => HuggingFaceFolder.Zip(files, links),
            "tar.gz" => HuggingFaceFolder.TarGz(files, links),
            "text" => "config.json,model.safetensors\n"u8.ToArray(),
            _ => HuggingFaceFolder.Zip(files)[..200],
        };
        string id = $"bad-{refusal.Replace(' ', '-').Replace(".", string.Empty, StringComparison.Ordinal)}".ToLowerInvariant();
        var problem = await UploadAsync(archive, $"model.{kind}", ("id", id)).ReadProblemAsync((HttpStatusCode)status);

        var fields = problem["errors"]!.AsArray().Select(e => (string)e!["field"]!).ToList();
        Assert.True(fields.Any(f => f.StartsWith(names, StringComparison.Ordinal)), $"{refusal}: expected an error on '{names}': {problem.ToJsonString()}");
        await AssertNothingStoredAsync(id);
    }

    [Fact]
    public async Task Bombs_oversized_uploads_and_taken_or_invalid_ids_are_refused_and_store_nothing()
    {
        await using var limited = service.Restart(new Dictionary<string, string?>
        {
            ["BaseModels:MaxUploadBytes"] = "65536",
            ["BaseModels:MaxExpandedBytes"] = "262144",
            ["BaseModels:MaxArchiveEntries"] = "40",
        });
        using var client = limited.CreateClient();

        // A megabyte of zeros compresses to about a kilobyte: the archive is small, what it expands to is not.
        var bomb = HuggingFaceFolder.Tiny();
        bomb.Files["vocab.txt"] = [.. bomb.Files["vocab.txt"], .. new byte[1 << 20]];
        foreach (var (kind, archive) in new[] { ("zip", HuggingFaceFolder.Zip(bomb.Build())), ("tar.gz", HuggingFaceFolder.TarGz(bomb.Build())) })
        {
            Assert.True(archive.Length < 65536, $"the {kind} bomb is {archive.Length} bytes");
            var problem = await UploadAsync(client, archive, $"bomb.{kind}", ("id", "bomb")).ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
            Assert.Contains("BaseModels:MaxExpandedBytes", problem.AllText(), StringComparison.Ordinal);
        }

        var many = HuggingFaceFolder.Tiny().Build().Concat(Enumerable.Range(0, 50).Select(i => ($"notes/{i}.txt", "x"u8.ToArray()))).ToList();
        var crowded = await UploadAsync(client, HuggingFaceFolder.Zip(many), "many.zip", ("id", "crowded")).ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("BaseModels:MaxArchiveEntries", crowded.AllText(), StringComparison.Ordinal);

        byte[] large = RandomNumberGenerator.GetBytes(100_000);
        var oversize = await UploadAsync(client, large, "large.zip", ("id", "large")).ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("BaseModels:MaxUploadBytes", oversize.AllText(), StringComparison.Ordinal);

        byte[] tiny = HuggingFaceFolder.Zip(HuggingFaceFolder.Tiny().Build());
        var builtIn = await UploadAsync(client, tiny, "tiny.zip", ("id", "minilm-l6")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("built-in", builtIn.AllText(), StringComparison.Ordinal);
        await UploadAsync(client, tiny, "tiny.zip", ("id", "Not Valid!")).ReadProblemAsync(HttpStatusCode.BadRequest);
        await UploadAsync(client, tiny, "tiny.zip").ReadProblemAsync(HttpStatusCode.BadRequest);
        await UploadAsync(client, tiny, "tiny.zip", ("id", "tiny-twice"), ("pooling", "max")).ReadProblemAsync(HttpStatusCode.BadRequest);
        await (await client.PostAsync("/v1/base-models", HttpAssertions.JsonBody(new { id = "json" }))).ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);

        await UploadAsync(client, tiny, "tiny.zip", ("id", "tiny-twice")).ReadJsonAsync(HttpStatusCode.Created);
        var again = await UploadAsync(client, tiny, "tiny.zip", ("id", "tiny-twice")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("tiny-twice", again.AllText(), StringComparison.Ordinal);
        Assert.Single(StoredFiles("tiny-twice"), f => f.EndsWith("model.safetensors", StringComparison.Ordinal));

        foreach (string id in (string[])["bomb", "crowded", "large"])
        {
            await AssertNothingStoredAsync(id);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v1/base-models/tiny-twice")).StatusCode);
    }

    private Task<HttpResponseMessage> UploadAsync(byte[] archive, string fileName, params (string Name, string Value)[] fields) =>
        UploadAsync(Client, archive, fileName, fields);

    private static Task<HttpResponseMessage> UploadAsync(HttpClient client, byte[] archive, string fileName, params (string Name, string Value)[] fields) =>
        client.PostAsync("/v1/base-models", HttpAssertions.DatasetForm(archive, fileName, fields));

    /// <summary>Nothing listed, no stored file, and nothing left behind in the upload spool or extraction folders.</summary>
    private async Task AssertNothingStoredAsync(string id)
    {
        await (await Client.GetAsync($"/v1/base-models/{id}")).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty(StoredFiles(id));
        string uploads = Path.Combine(service.DataDirectory, "uploads");
        Assert.Empty(Directory.Exists(uploads) ? Directory.EnumerateFileSystemEntries(uploads) : []);
    }

    /// <summary>Word-vector outputs of uploaded encoders (this class uploads no other that is used for them).</summary>
    private List<string> StoredWordVectorFiles()
    {
        string directory = Path.Combine(service.DataDirectory, "artifacts", "word-vectors");
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).ToList() : [];
    }

    private IEnumerable<string> StoredFiles(string id)
    {
        string directory = Path.Combine(service.DataDirectory, "artifacts", "base-models", id);
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).ToList() : [];
    }
}

/// <summary>Reads an upload's response where the call is written, so each refusal reads as one line.</summary>
file static class PendingResponses
{
    public static async Task<JsonNode> ReadProblemAsync(this Task<HttpResponseMessage> response, HttpStatusCode status) =>
        await (await response).ReadProblemAsync(status);

    public static async Task<JsonNode> ReadJsonAsync(this Task<HttpResponseMessage> response, HttpStatusCode status) =>
        await (await response).ReadJsonAsync(status);
}
