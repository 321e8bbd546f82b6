using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Datasets;

/// <summary>The datasets API end to end, over real HTTP, against each database provider.</summary>
public abstract class DatasetsApiTests<TFixture>(TFixture service) : IClassFixture<TFixture>
    where TFixture : ServiceFixture
{
    private const string SmallCsv = "text,label\nhello there,greeting\nbye now,farewell\ngood morning,greeting\nsee you,farewell\n";

    protected HttpClient Client => service.Client;

    [Fact]
    public async Task Uploading_clinc150_train_returns_its_profile_and_the_rows_preview_shows_them()
    {
        byte[] file = await File.ReadAllBytesAsync(Path.Combine(RepositoryPaths.SharedDatasets, "clinc150", "train.csv"));

        var created = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(file, "train.csv", ("name", "clinc150-train"))))
            .ReadJsonAsync(HttpStatusCode.Created);

        Assert.StartsWith("ds_", (string)created["id"]!);
        Assert.Equal("clinc150-train", (string)created["name"]!);
        Assert.Equal("csv", (string)created["format"]!);
        Assert.Equal("ready", (string)created["status"]!);
        Assert.Equal(15_100, (int)created["row_count"]!);
        Assert.Equal(151, created["labels"]!.AsArray().Count);
        Assert.Equal(100, (int)created["labels"]!.AsArray().First(l => (string)l!["label"]! == "oos")!["count"]!);
        Assert.True((double)created["text_length"]!["mean"]! > 10);

        var rows = await (await Client.GetAsync($"/v1/datasets/{created["id"]}/rows?offset=0&limit=3")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(15_100, (int)rows["total"]!);
        Assert.Equal(3, rows["data"]!.AsArray().Count);
        Assert.False(string.IsNullOrWhiteSpace((string?)rows["data"]![0]!["text"]));

        var fetched = await (await Client.GetAsync($"/v1/datasets/{created["id"]}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal((string)created["sha256"]!, (string)fetched["sha256"]!);
    }

    [Fact]
    public async Task Chinese_emoji_and_right_to_left_text_survive_upload_storage_and_preview_unchanged()
    {
        string[] texts = ["我想查询我的账户余额", "مرحبا، أريد إلغاء طلبي", "שלום, איפה ההזמנה שלי?", "pizza 🍕 por favor 😀", "Ünïcödé naïve café"];
        string jsonl = string.Join("\n", texts.Select((t, i) => new JsonObject { ["text"] = t, ["label"] = i % 2 == 0 ? "意图一" : "intent_two" }.ToJsonString()));

        var created = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(jsonl, "unicode.jsonl"))).ReadJsonAsync(HttpStatusCode.Created);
        Assert.Equal("jsonl", (string)created["format"]!);

        var rows = await (await Client.GetAsync($"/v1/datasets/{created["id"]}/rows?limit=10")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(texts, rows["data"]!.AsArray().Select(r => (string)r!["text"]!).ToArray());
        Assert.Contains(rows["data"]!.AsArray(), r => (string)r!["label"]! == "意图一");
    }

    [Fact]
    public async Task The_stored_file_hashes_to_the_reported_sha256_and_survives_a_restart()
    {
        var created = await UploadAsync(SmallCsv, "restart.csv");
        string id = (string)created["id"]!;

        await using var restarted = service.Restart();
        using var client = restarted.CreateClient();
        var fetched = await (await client.GetAsync($"/v1/datasets/{id}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal((string)created["sha256"]!, (string)fetched["sha256"]!);

        string key;
        using (var scope = restarted.Services.CreateScope())
        {
            key = scope.ServiceProvider.GetRequiredService<ServiceDbContext>().Datasets.Single(d => d.Id == id).ArtifactKey;
        }

        byte[] stored = await File.ReadAllBytesAsync(Path.Combine(service.DataDirectory, "artifacts", key));
        Assert.Equal((string)created["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(stored)));
        Assert.Equal((long)created["size_bytes"]!, stored.LongLength);
    }

    [Fact]
    public async Task Row_problems_are_skipped_counted_and_reported_with_their_line()
    {
        string jsonl = "{\"text\":\"a\",\"label\":\"x\"}\n{not json}\n{\"text\":\"\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\"y\"}\n{\"text\":\"c\"}\n";

        var created = await UploadAsync(jsonl, "problems.jsonl");

        Assert.Equal(2, (int)created["row_count"]!);
        Assert.Equal(3, (int)created["rows_skipped"]!);
        var lines = created["problems"]!.AsArray().Select(p => (long)p!["line"]!).ToArray();
        Assert.Equal([2L, 3L, 5L], lines);
    }

    [Fact]
    public async Task Duplicates_are_removed_and_pii_is_redacted_before_anything_is_stored()
    {
        string csv = "text,label\n"
            + "mail me at jane.doe@example.com,contact\n"
            + "mail me at jane.doe@example.com,contact\n"
            + "my card is 4111 1111 1111 1111,payment\n"
            + "call +44 20 7946 0958 please,contact\n"
            + "iban GB82 WEST 1234 5698 7654 32 thanks,payment\n";

        var created = await UploadAsync(csv, "pii.csv", ("redact_pii", "true"));

        Assert.Equal(1, (int)created["duplicates_removed"]!);
        Assert.Equal(4, (int)created["row_count"]!);
        Assert.Equal(4, (int)created["pii_redacted"]!["total"]!);
        var rows = await (await Client.GetAsync($"/v1/datasets/{created["id"]}/rows")).ReadJsonAsync(HttpStatusCode.OK);
        string all = rows["data"]!.ToJsonString();
        Assert.DoesNotContain("jane.doe", all);
        Assert.DoesNotContain("4111", all);
        Assert.DoesNotContain("7946", all);
        Assert.DoesNotContain("WEST", all);
    }

    [Theory]
    [InlineData("binary", "UTF-8")]
    [InlineData("missing_column", "label")]
    [InlineData("one_label", "label")]
    [InlineData("broken_quoting", "quote")]
    [InlineData("no_valid_rows", "row")]
    [InlineData("strict_with_problem", "line 3")]
    public async Task Bad_uploads_get_422_naming_the_problem_and_store_nothing(string kind, string named)
    {
        var (bytes, fileName, fields) = kind switch
        {
            "binary" => (new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0xFF, 0xFE, 0x00, 0x01 }, "image.csv", Array.Empty<(string, string)>()),
            "missing_column" => (Encoding.UTF8.GetBytes("text,category\nhello,a\nbye,b\n"), "nolabel.csv", []),
            "one_label" => (Encoding.UTF8.GetBytes("text,label\nhello,a\nbye,a\n"), "onelabel.csv", []),
            "broken_quoting" => (Encoding.UTF8.GetBytes("text,label\n\"hello,a\nbye,b\n"), "quotes.csv", []),
            "no_valid_rows" => (Encoding.UTF8.GetBytes("text,label\n,a\n,b\n"), "empty.csv", []),
            "strict_with_problem" => (Encoding.UTF8.GetBytes("text,label\nhello,a\n,b\nbye,b\n"), "strict.csv", [("strict", "true")]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        int before = await CountDatasetsAsync();
        var filesBefore = StoredFiles();

        var problem = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(bytes, fileName, fields)))
            .ReadProblemAsync(HttpStatusCode.UnprocessableEntity);

        Assert.Contains(named, problem.AllText(), StringComparison.OrdinalIgnoreCase);
        Assert.NotEmpty(problem["errors"]!.AsArray());
        Assert.Equal(before, await CountDatasetsAsync());
        Assert.Equal(filesBefore, StoredFiles());
    }

    [Fact]
    public async Task An_upload_over_the_size_limit_gets_413_and_stores_nothing()
    {
        await using var limited = service.Restart(new Dictionary<string, string?> { ["Datasets:MaxUploadBytes"] = "1024" });
        using var client = limited.CreateClient();
        var filesBefore = StoredFiles();
        string big = "text,label\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"row number {i},{(i % 2 == 0 ? "a" : "b")}\n"));

        var problem = await (await client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(big, "big.csv"))).ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("1024", problem.AllText());
        Assert.Equal(filesBefore, StoredFiles());
    }

    [Fact]
    public async Task Requests_that_are_not_multipart_or_lack_the_file_are_refused_with_a_named_field()
    {
        var notMultipart = await (await Client.PostAsync("/v1/datasets", HttpAssertions.JsonBody(new { text = "x" }))).ReadProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("multipart/form-data", notMultipart.AllText());

        var form = new MultipartFormDataContent { { new StringContent("n"), "name" } };
        var noFile = await (await Client.PostAsync("/v1/datasets", form)).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("file", (string)noFile["errors"]![0]!["field"]!);

        var badFlag = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(SmallCsv, "a.csv", ("dedupe", "maybe")))).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("dedupe", (string)badFlag["errors"]![0]!["field"]!);
    }

    [Fact]
    public async Task Custom_column_names_and_tsv_are_read()
    {
        var created = await UploadAsync("utterance\tintent\textra\nhello\tgreet\t1\nbye\tleave\t2\n", "custom.tsv", ("text_column", "utterance"), ("label_column", "intent"));

        Assert.Equal("tsv", (string)created["format"]!);
        Assert.Equal(2, (int)created["row_count"]!);
    }

    [Fact]
    public async Task Listing_pages_newest_first_with_an_after_cursor()
    {
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add((string)(await UploadAsync(SmallCsv, $"page{i}.csv", ("name", $"page-{i}")))["id"]!);
        }

        var first = await (await Client.GetAsync("/v1/datasets?limit=2")).ReadJsonAsync(HttpStatusCode.OK);
        var firstIds = first["data"]!.AsArray().Select(d => (string)d!["id"]!).ToList();
        Assert.Equal([ids[2], ids[1]], firstIds);
        Assert.True((bool)first["has_more"]!);

        var second = await (await Client.GetAsync($"/v1/datasets?limit=2&after={firstIds[^1]}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(ids[0], (string)second["data"]![0]!["id"]!);
    }

    [Theory]
    [InlineData("/v1/datasets?limit=0", "limit")]
    [InlineData("/v1/datasets?limit=abc", "limit")]
    [InlineData("/v1/datasets?after=nope", "after")]
    [InlineData("/v1/datasets/ds_unknown/rows?offset=-1", "offset")]
    public async Task Bad_query_values_get_400_naming_the_parameter(string url, string parameter)
    {
        var problem = await (await Client.GetAsync(url)).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(parameter, problem.AllText(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("GET", "/v1/datasets/ds_01kaq3m5t8y9c2b7n4x6r0w1zd")]
    [InlineData("GET", "/v1/datasets/ds_01kaq3m5t8y9c2b7n4x6r0w1zd/rows")]
    [InlineData("DELETE", "/v1/datasets/ds_01kaq3m5t8y9c2b7n4x6r0w1zd")]
    public async Task Unknown_dataset_ids_get_404_problem_details(string method, string url)
    {
        var problem = await (await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url))).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("ds_01kaq3m5t8y9c2b7n4x6r0w1zd", (string)problem["detail"]!);
    }

    [Fact]
    public async Task Deleting_a_dataset_removes_its_row_and_its_stored_file()
    {
        var created = await UploadAsync(SmallCsv, "delete.csv");
        string id = (string)created["id"]!;
        string file = Path.Combine(service.DataDirectory, "artifacts", "datasets", $"{id}.jsonl");
        Assert.True(File.Exists(file));

        var deleted = await Client.DeleteAsync($"/v1/datasets/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(File.Exists(file));
        await (await Client.GetAsync($"/v1/datasets/{id}")).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Deleting_a_dataset_that_a_queued_job_uses_is_refused_with_409()
    {
        var created = await UploadAsync(SmallCsv, "busy.csv");
        string id = (string)created["id"]!;
        string jobId = ResourceId.New(ResourceId.FineTuningJobPrefix);
        using (var scope = service.Factory.Services.CreateScope())
        {
            // A job row that no worker will pick up: running under another worker's lease, with no Hangfire delivery.
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            db.FineTuningJobs.Add(new FineTuningJob
            {
                Id = jobId,
                Model = "busy",
                Architecture = "ngram-bag",
                HyperparametersJson = "{}",
                TrainingDatasetId = id,
                CreatedAt = DateTimeOffset.UtcNow,
                Status = FineTuningJobStatus.Running,
                LeaseOwner = "another-worker",
                LeaseExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
            });
            await db.SaveChangesAsync();
        }

        try
        {
            var problem = await (await Client.DeleteAsync($"/v1/datasets/{id}")).ReadProblemAsync(HttpStatusCode.Conflict);

            Assert.Contains(id, (string)problem["detail"]!);
            await (await Client.GetAsync($"/v1/datasets/{id}")).ReadJsonAsync(HttpStatusCode.OK);
        }
        finally
        {
            // The row must not outlive this test: a later service.Restart() in this class would recover it as an
            // interrupted job and really train it, writing files while another test compares snapshots of them.
            using var scope = service.Factory.Services.CreateScope();
            await scope.ServiceProvider.GetRequiredService<ServiceDbContext>().FineTuningJobs.Where(j => j.Id == jobId).ExecuteDeleteAsync();
        }
    }

    [Fact]
    public async Task A_corrupted_stored_file_is_refused_not_served()
    {
        var created = await UploadAsync(SmallCsv, "corrupt.csv");
        string file = Path.Combine(service.DataDirectory, "artifacts", "datasets", $"{created["id"]}.jsonl");
        byte[] bytes = await File.ReadAllBytesAsync(file);
        bytes[5] ^= 0x20;
        await File.WriteAllBytesAsync(file, bytes);

        var problem = await (await Client.GetAsync($"/v1/datasets/{created["id"]}/rows")).ReadProblemAsync(HttpStatusCode.InternalServerError);

        Assert.Contains("corrupted", (string)problem["detail"]!);
    }

    private async Task<JsonNode> UploadAsync(string content, string fileName, params (string Name, string Value)[] fields) =>
        await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(content, fileName, fields))).ReadJsonAsync(HttpStatusCode.Created);

    private async Task<int> CountDatasetsAsync()
    {
        using var scope = service.Factory.Services.CreateScope();
        return scope.ServiceProvider.GetRequiredService<ServiceDbContext>().Datasets.Count();
    }

    /// <summary>Every file under the data directory (artifacts and upload spool), to prove a refusal left none behind.</summary>
    private string[] StoredFiles() =>
        Directory.Exists(service.DataDirectory)
            ? Directory.GetFiles(service.DataDirectory, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetFileName(f).StartsWith("service.db", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];

    [Fact]
    public async Task The_quality_report_finds_conflicts_near_duplicates_odd_texts_thin_labels_and_scripts_with_their_lines()
    {
        var csv = new System.Text.StringBuilder("text,label\n");
        for (int i = 0; i < 30; i++)
        {
            csv.Append($"what is my balance number {i},balance\n");            // lines 2-31
        }

        csv.Append("send money to my sister,transfer\n");                     // 32
        csv.Append("what is my balance number 3,transfer\n");                 // 33: the text of line 5, another label
        csv.Append("\"Send money, to my SISTER!\",balance\n");                     // 34: line 32 but for case and punctuation
        csv.Append("???,balance\n");                                            // 35: no letters
        csv.Append("ok,balance\n");                                             // 36: very short
        csv.Append("我的银行卡被冻结了,transfer\n");                            // 37: CJK
        csv.Append("$$$ %%% ^^^ <span>,balance\n");                            // 38: mostly symbols
        var created = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(csv.ToString(), "quality.csv"))).ReadJsonAsync(HttpStatusCode.Created);

        var quality = await (await Client.GetAsync($"/v1/datasets/{created["id"]}/quality")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(created["quality"]!.ToJsonString(), quality.ToJsonString());
        JsonNode Finding(string code) => quality["findings"]!.AsArray().Single(f => (string)f!["code"]! == code)!;

        var conflict = Finding("conflicting_duplicates");
        Assert.Equal("warning", (string)conflict["severity"]!);
        var example = conflict["examples"]![0]!;
        Assert.Equal((33, "transfer", "balance", 5), ((long)example["line"]!, (string)example["label"]!, (string)example["other_label"]!, (long)example["other_line"]!));
        var near = Finding("near_duplicates_across_labels")["examples"]![0]!;
        Assert.Equal((34, 32), ((long)near["line"]!, (long)near["other_line"]!));
        Assert.Equal(35, (long)Finding("text_without_letters")["examples"]![0]!["line"]!);
        Assert.Equal(36, (long)Finding("text_very_short")["examples"]![0]!["line"]!);
        Assert.Equal(38, (long)Finding("text_mostly_non_letters")["examples"]![0]!["line"]!);
        Assert.Equal("transfer", (string)Finding("label_with_few_examples")["examples"]![0]!["label"]!);
        Assert.Contains("balance", Finding("label_imbalance")["message"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("cjk", Finding("mixed_scripts")["message"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(1.0 / 37, (double)quality["scripts"]!["cjk"]!, 3);
        // The console draws the text-length histogram from these buckets; every stored row is in one.
        Assert.Equal((int)created["row_count"]!, quality["text_lengths"]!.AsArray().Sum(b => (int)b!["count"]!));

        // A file in which every row has a label of its own says so as an error.
        string singletons = "text,label\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"text number {i},label_{i}\n"));
        var unique = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(singletons, "singletons.csv"))).ReadJsonAsync(HttpStatusCode.Created);
        var first = unique["quality"]!["findings"]![0]!;
        Assert.Equal(("error", "every_label_unique"), ((string)first["severity"]!, (string)first["code"]!));
    }
}

public sealed class DatasetsApiOnSqliteTests(SqliteServiceFixture service) : DatasetsApiTests<SqliteServiceFixture>(service);

public sealed class DatasetsApiOnPostgresTests(PostgresServiceFixture service) : DatasetsApiTests<PostgresServiceFixture>(service);
