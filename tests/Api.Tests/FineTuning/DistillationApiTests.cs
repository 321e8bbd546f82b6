using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>
/// Distillation end to end: a tiny n-gram bag trained first is the teacher of n-gram bag students, through real HTTP,
/// real training, a real ONNX Runtime run of the teacher's export and the real artifact store.
/// </summary>
public abstract class DistillationApiTests<TFixture>(TFixture service) : IClassFixture<TFixture>
    where TFixture : ServiceFixture
{
    private static readonly string[] Labels = ["balance", "transfer", "card_lost", "greeting"];
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(120);

    private HttpClient Client => service.Client;

    [Fact]
    public async Task A_distilled_student_publishes_with_its_teacher_and_the_next_student_reads_the_teachers_outputs_from_the_cache()
    {
        string labelled = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv([.. Labels, "oos"], 25, seed: 21));
        string teacher = await TrainTeacherAsync(labelled, seed: 1);

        // Texts without labels: the same kind of requests, with the label column left out.
        string texts = string.Join('\n', SyntheticIntents.Csv(Labels, 15, seed: 22).Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l[..l.LastIndexOf(',')]));
        var unlabelledDataset = await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm("text\n" + texts, "logs.csv", ("text_only", "true"))))
            .ReadJsonAsync(HttpStatusCode.Created);
        Assert.True((bool)unlabelledDataset["text_only"]!);
        Assert.Empty(unlabelledDataset["labels"]!.AsArray());
        Assert.Equal(60, (int)unlabelledDataset["row_count"]!);
        string unlabelled = (string)unlabelledDataset["id"]!;

        var first = await TrainStudentAsync(new { training_dataset_id = labelled, unlabelled_dataset_id = unlabelled, distill_from = teacher });
        Assert.Equal(teacher, (string)first.Job["distill_from"]!);
        Assert.Equal(unlabelled, (string)first.Job["unlabelled_dataset_id"]!);
        Assert.Equal(new (string?, bool)[] { (labelled, false), (unlabelled, false) }, first.TeacherOutputs);
        var version = await (await Client.GetAsync($"/v1/models/student/versions/{first.Job["result"]!["version"]}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(teacher, (string)version["teacher"]!);
        Assert.Equal("ngram-bag", (string)version["architecture"]!);
        Assert.NotNull(version["out_of_scope_threshold"]);
        Assert.True((double)first.Job["metrics"]!["validation_accuracy"]! > 0.6, first.Job.ToJsonString());
        var prediction = await (await Client.PostAsync("/v1/models/student/predict", HttpAssertions.JsonBody(new { inputs = new[] { "please send a wire transfer now" }, top_k = 1 })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("transfer", (string)prediction["predictions"]![0]!["top_k"]![0]!["label"]!);

        // The same teacher on the same dataset: read back, not run again.
        var second = await TrainStudentAsync(new { training_dataset_id = labelled, distill_from = teacher });
        Assert.Equal(new (string?, bool)[] { (labelled, true) }, second.TeacherOutputs);

        // Another dataset, or another teacher (other weights, so another ONNX file), is scored afresh.
        string otherData = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv([.. Labels, "oos"], 25, seed: 23));
        var third = await TrainStudentAsync(new { training_dataset_id = otherData, distill_from = teacher });
        Assert.Equal(new (string?, bool)[] { (otherData, false) }, third.TeacherOutputs);
        string otherTeacher = await TrainTeacherAsync(labelled, seed: 2);
        var fourth = await TrainStudentAsync(new { training_dataset_id = labelled, distill_from = otherTeacher });
        Assert.Equal(new (string?, bool)[] { (labelled, false) }, fourth.TeacherOutputs);

        // Deleting a dataset or a teacher deletes the outputs kept for it (nothing could read them again), and only those.
        string otherDataSha256 = (string)(await (await Client.GetAsync($"/v1/datasets/{otherData}")).ReadJsonAsync(HttpStatusCode.OK))["sha256"]!;
        var otherTeacherVersion = await (await Client.GetAsync($"/v1/models/{otherTeacher.Replace(":", "/versions/", StringComparison.Ordinal)}")).ReadJsonAsync(HttpStatusCode.OK);
        string otherTeacherSha256 = (string)otherTeacherVersion["artifacts"]!.AsArray().Single(a => (string)a!["variant"]! == "float32")!["sha256"]!;
        int before = StoredTeacherOutputFiles().Count;
        Assert.Single(StoredTeacherOutputFiles(), f => f.Contains(otherDataSha256, StringComparison.Ordinal));
        Assert.Single(StoredTeacherOutputFiles(), f => f.Contains(otherTeacherSha256, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync($"/v1/datasets/{otherData}")).StatusCode);
        Assert.DoesNotContain(StoredTeacherOutputFiles(), f => f.Contains(otherDataSha256, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync($"/v1/models/{otherTeacher.Replace(":", "/versions/", StringComparison.Ordinal)}")).StatusCode);
        Assert.DoesNotContain(StoredTeacherOutputFiles(), f => f.Contains(otherTeacherSha256, StringComparison.Ordinal));
        Assert.Equal(before - 2, StoredTeacherOutputFiles().Count);
        var again = await TrainStudentAsync(new { training_dataset_id = labelled, distill_from = teacher });
        Assert.Equal(new (string?, bool)[] { (labelled, true) }, again.TeacherOutputs);
    }

    private List<string> StoredTeacherOutputFiles()
    {
        string directory = Path.Combine(service.DataDirectory, "artifacts", "distillation");
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).ToList() : [];
    }

    [Fact]
    public async Task A_transfer_set_of_neighbour_replaced_variants_is_labelled_by_the_teacher_once_and_learnt_from()
    {
        string labelled = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv([.. Labels, "oos"], 20, seed: 41));
        string teacher = await TrainTeacherAsync(labelled, seed: 3);
        var transfer = new JsonObject { ["epochs"] = 4, ["distillation_transfer_copies"] = 2, ["distillation_word_replacement"] = 0.5 };

        var first = await TrainStudentAsync(new { training_dataset_id = labelled, distill_from = teacher }, transfer);

        var made = Assert.Single(await JobsApi.EventsAsync(Client, (string)first.Job["id"]!), e => (string)e!["type"]! == "transfer_set")!;
        int variants = (int)made["data"]!["variants"]!;
        Assert.InRange(variants, 1, 2 * 100);
        Assert.NotEmpty(made["data"]!["examples"]!.AsArray());
        Assert.Equal(new (string?, bool)[] { (labelled, false), (null, false) }, first.TeacherOutputs);
        Assert.Equal(2, (int)first.Job["hyperparameters"]!["distillation_transfer_copies"]!);

        // The same settings make the same set, so the next student reads its outputs back; another seed makes another.
        var second = await TrainStudentAsync(new { training_dataset_id = labelled, distill_from = teacher }, transfer);
        Assert.Equal(new (string?, bool)[] { (labelled, true), (null, true) }, second.TeacherOutputs);
        transfer["seed"] = 5;
        var third = await TrainStudentAsync(new { training_dataset_id = labelled, distill_from = teacher }, transfer);
        Assert.Equal(new (string?, bool)[] { (labelled, true), (null, false) }, third.TeacherOutputs);

        await RefusedAsync(new { training_dataset_id = labelled, model = "s", hyperparameters = new { distillation_transfer_copies = 2 } },
            HttpStatusCode.BadRequest, "hyperparameters.distillation_transfer_copies");
        await RefusedAsync(new { training_dataset_id = labelled, model = "s", out_of_scope_label = "oos", distill_from = teacher, hyperparameters = new { distillation_transfer_copies = 33 } },
            HttpStatusCode.BadRequest, "hyperparameters.distillation_transfer_copies");
        await RefusedAsync(new { training_dataset_id = labelled, model = "s", out_of_scope_label = "oos", distill_from = teacher, hyperparameters = new { distillation_transfer_copies = 2, distillation_word_replacement = 0 } },
            HttpStatusCode.BadRequest, "hyperparameters.distillation_word_replacement");
    }

    [Fact]
    public async Task Distillation_requests_that_cannot_work_are_refused_naming_the_field()
    {
        string labelled = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 6, seed: 31));
        string textOnly = (string)(await (await Client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm("text\nhello there\nsend money\n", "texts.csv", ("text_only", "true"))))
            .ReadJsonAsync(HttpStatusCode.Created))["id"]!;
        string narrowTeacher = await TrainTeacherAsync(await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(["balance", "transfer", "oos"], 6, seed: 32)), seed: 1, model: "narrow-teacher");

        await RefusedAsync(new { training_dataset_id = labelled, model = "s", distill_from = "nothing:7" }, HttpStatusCode.NotFound, "distill_from");
        await RefusedAsync(new { training_dataset_id = labelled, model = "s", distill_from = "not a version" }, HttpStatusCode.BadRequest, "distill_from");
        await RefusedAsync(new { training_dataset_id = labelled, model = "s", unlabelled_dataset_id = textOnly }, HttpStatusCode.BadRequest, "unlabelled_dataset_id");
        await RefusedAsync(new { training_dataset_id = labelled, model = "s", distill_from = narrowTeacher, unlabelled_dataset_id = "ds_01kaq3m5t8y9c2b7n4x6r0w1zd" }, HttpStatusCode.NotFound, "unlabelled_dataset_id");
        var untaught = await RefusedAsync(new { training_dataset_id = labelled, model = "s", distill_from = narrowTeacher }, HttpStatusCode.UnprocessableEntity, "distill_from");
        Assert.Contains("greeting", untaught.AllText(), StringComparison.Ordinal);
        await RefusedAsync(new { training_dataset_id = textOnly, model = "s" }, HttpStatusCode.UnprocessableEntity, "training_dataset_id");
        await RefusedAsync(new { training_dataset_id = labelled, validation_dataset_id = textOnly, model = "s" }, HttpStatusCode.UnprocessableEntity, "validation_dataset_id");
    }

    private async Task<JsonNode> RefusedAsync(object body, HttpStatusCode status, string field)
    {
        var problem = await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(body))).ReadProblemAsync(status);
        Assert.Contains(problem["errors"]!.AsArray(), e => (string?)e!["field"] == field);
        return problem;
    }

    private async Task<string> TrainTeacherAsync(string dataset, int seed, string model = "teacher")
    {
        var job = await JobsApi.WaitForEndAsync(Client,
            (string)(await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model, out_of_scope_label = "oos", hyperparameters = new { epochs = 4, seed } }))["id"]!, JobTimeout);
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        return $"{model}:{job["result"]!["version"]}";
    }

    private async Task<(JsonNode Job, List<(string? Dataset, bool CacheHit)> TeacherOutputs)> TrainStudentAsync(object distillation, JsonObject? hyperparameters = null)
    {
        var body = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(distillation))!.AsObject();
        body["model"] = "student";
        body["out_of_scope_label"] = "oos";
        body["hyperparameters"] = hyperparameters?.DeepClone() ?? new JsonObject { ["epochs"] = 4 };
        var job = await JobsApi.WaitForEndAsync(Client, (string)(await JobsApi.CreateAsync(Client, body))["id"]!, JobTimeout);
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        var outputs = (await JobsApi.EventsAsync(Client, (string)job["id"]!))
            .Where(e => (string)e!["type"]! == "teacher_outputs")
            .Select(e => ((string?)e!["data"]!["dataset_id"], (bool)e["data"]!["cache_hit"]!))
            .ToList();
        return (job, outputs);
    }
}

public sealed class DistillationApiOnSqliteTests(SqliteServiceFixture service) : DistillationApiTests<SqliteServiceFixture>(service);
