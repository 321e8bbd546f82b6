using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data.Augmentation;
using TextClassification.Training.Loop;

namespace TextClassification.Benchmarks;

/// <summary>
/// Distillation on CLINC150 through the API, in one service process: a teacher (trained here, or an existing version
/// of a data directory kept from an earlier run), the plain n-gram bag, and one or more n-gram bags distilled from
/// the teacher (<c>distill_from</c>), each scored on the test split with its own tokenizer, labels and out-of-scope
/// threshold (in-scope accuracy and out-of-scope recall), then served over HTTP at concurrency 1 and 64 (wrk, one
/// test text per <c>/v1</c> predict request). The teacher's outputs over the training set are computed by the first
/// student and read from the cache by the next (the job's <c>teacher_outputs</c> events say which).
/// </summary>
internal static class DistillationBenchmark
{
    private const string TeacherModel = "clinc150-teacher";
    private const string PlainModel = "clinc150-plain";
    private const string StudentModel = "clinc150-student";

    /// <param name="apiDll">The published service.</param>
    /// <param name="datasets">The CLINC150 folder.</param>
    /// <param name="options">
    /// <c>--data-directory DIR</c> and <c>--admin-key KEY</c> (run over an existing service data directory, kept
    /// afterwards, with the key it was bootstrapped with); <c>--teacher NAME:VERSION</c> (an existing version; else a
    /// MiniLM teacher is trained with <c>--teacher-hyperparameters JSON</c>, by default the frozen encoder's
    /// <c>{"train_layers": 0, "epochs": 40, "learning_rate": 3e-3}</c>); <c>--student JSON</c> (hyperparameters of a
    /// distilled n-gram bag; repeatable; one with the defaults when neither this nor <c>--plain</c> is given); <c>--no-plain</c> (skip the plain
    /// n-gram bag); <c>--plain JSON</c> (hyperparameters of a plain n-gram bag, trained without a teacher; repeatable;
    /// replaces the default one); <c>--existing NAME:VERSION</c> (a version trained before, scored and served beside
    /// the others without training; repeatable); <c>--serving-seconds N</c> (per concurrency level; 0 skips serving; default 10);
    /// <c>--transfer-set JSON</c> (an augmentation spec, as the <c>augmentation</c> hyperparameter takes, with
    /// <c>copies</c>: that many variants of every training text are uploaded once as a text-only dataset and given to
    /// every student as its <c>unlabelled_dataset_id</c>, so the teacher labels them: the augmented transfer set of
    /// Tang et al., "Distilling Task-Specific Knowledge from BERT into Simple Neural Networks", 2019).
    /// </param>
    public static async Task<int> RunAsync(string apiDll, string datasets, IReadOnlyList<string> options)
    {
        string? dataDirectory = null;
        string? adminKey = null;
        string? teacher = null;
        string teacherHyperparameters = """{"train_layers": 0, "epochs": 40, "learning_rate": 3e-3}""";
        var students = new List<string>();
        bool plain = true;
        var plains = new List<string>();
        var existing = new List<string>();
        int servingSeconds = 10;
        string? transferSet = null;
        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case "--data-directory": dataDirectory = Path.GetFullPath(options[++i]); break;
                case "--admin-key": adminKey = options[++i]; break;
                case "--teacher": teacher = options[++i]; break;
                case "--teacher-hyperparameters": teacherHyperparameters = options[++i]; break;
                case "--student": students.Add(options[++i]); break;
                case "--no-plain": plain = false; break;
                case "--plain": plains.Add(options[++i]); break;
                case "--existing": existing.Add(options[++i]); break;
                case "--serving-seconds": servingSeconds = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--transfer-set": transferSet = options[++i]; break;
                default: throw new ArgumentException($"Unknown option {options[i]}.");
            }
        }

        if (students.Count == 0 && plains.Count == 0 && existing.Count == 0)
        {
            students.Add("{}");
        }

        var settings = new Dictionary<string, string> { ["Jobs:TrainingProcess:Isolation"] = "InProcess" };
        if (adminKey is not null)
        {
            settings["Security:BootstrapAdminKey"] = adminKey;
        }

        await using var service = await ServiceProcess.StartAsync(apiDll, settings, dataDirectory);
        using var client = service.CreateClient();
        string train = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "train.csv"));
        string validation = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "validation.csv"));
        var test = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        var rows = new List<Row>();
        string? unlabelled = transferSet is null ? null : await UploadTransferSetAsync(client, Path.Combine(datasets, "train.csv"), transferSet);

        if (teacher is null)
        {
            var job = await TrainAsync(client, train, validation, TeacherModel, new JsonObject { ["base_model"] = "minilm-l6", ["hyperparameters"] = JsonNode.Parse(teacherHyperparameters) });
            teacher = $"{TeacherModel}:{job["result"]!["version"]}";
        }

        var teacherVersion = JsonNode.Parse(await client.GetStringAsync($"/v1/models/{teacher.Split(':')[0]}/versions/{teacher.Split(':')[1]}"))!;
        var teacherJob = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{teacherVersion["job_id"]}"))!;
        rows.Add(await ScoreAsync(service, teacherJob, $"teacher {teacher} (MiniLM, {teacherJob["hyperparameters"]!["train_layers"]} trained layers)", test, null));

        if (plain && plains.Count == 0)
        {
            plains.Add("{}");
        }

        for (int p = 0; p < plains.Count; p++)
        {
            // The first plain bag keeps the name earlier runs used; a model name per bag, as for the students.
            var extra = plains[p] == "{}" ? new JsonObject() : new JsonObject { ["hyperparameters"] = JsonNode.Parse(plains[p]) };
            var job = await TrainAsync(client, train, validation, p == 0 ? PlainModel : $"{PlainModel}-{p + 1}", extra);
            rows.Add(await ScoreAsync(service, job, plains[p] == "{}" ? "n-gram bag, plain" : $"n-gram bag, plain, {plains[p]}", test, null));
        }

        foreach (string reference in existing)
        {
            var version = JsonNode.Parse(await client.GetStringAsync($"/v1/models/{reference.Split(':')[0]}/versions/{reference.Split(':')[1]}"))!;
            var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{version["job_id"]}"))!;
            rows.Add(await ScoreAsync(service, job, $"{reference} ({job["hyperparameters"]!.ToJsonString()}{(job["distill_from"] is { } from ? $", distilled from {from}" : string.Empty)})", test, null));
        }

        for (int s = 0; s < students.Count; s++)
        {
            string hyperparameters = students[s];
            // A model name per student: /v1 predict serves a name's latest version.
            var extra = new JsonObject { ["distill_from"] = teacher, ["hyperparameters"] = JsonNode.Parse(hyperparameters) };
            if (unlabelled is not null)
            {
                extra["unlabelled_dataset_id"] = unlabelled;
            }

            var job = await TrainAsync(client, train, validation, $"{StudentModel}-{s + 1}", extra);
            var events = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{job["id"]}/events?limit=1000"))!["data"]!.AsArray();
            string cache = string.Join("; ", events.Where(e => (string)e!["type"]! == "teacher_outputs")
                .Select(e => $"{((bool)e!["data"]!["cache_hit"]! ? "cache hit" : "scored")} in {(double)e["data"]!["seconds"]!:F1} s"));
            string name = $"n-gram bag distilled, {hyperparameters}" + (transferSet is null ? string.Empty : $", transfer set {transferSet}");
            rows.Add(await ScoreAsync(service, job, name, test, cache));
        }

        if (servingSeconds > 0)
        {
            var texts = test.Take(1000).Select(r => r.Text).ToList();
            foreach (var row in rows)
            {
                // The exact version: a name's latest may be another row's.
                string[] reference = row.Model.Split(':');
                string script = ServingBenchmark.WriteWrkScript(texts, service.AdminKey, $"/v1/models/{reference[0]}/versions/{reference[1]}/predict", text => new { inputs = new[] { text }, top_k = 1 });
                row.Concurrency1 = await ServingBenchmark.WrkAsync(service.Address, script, 1, servingSeconds);
                row.Concurrency64 = await ServingBenchmark.WrkAsync(service.Address, script, 64, servingSeconds);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| model | job s | test in-scope acc. (threshold) | in-scope arg-max | oos recall | validation acc. | teacher outputs | c 1: req/s, p50 / p99 (ms) | c 64: req/s, p50 / p99 (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            Console.WriteLine($"| {row.Name} | {row.JobSeconds:F1} | {row.InScope:P2} (threshold {row.Threshold:F3}) | {row.ArgMax:P2} | {row.OutOfScopeRecall:P1} | {row.Validation:P2} | {row.Cache ?? "—"} | {Serving(row.Concurrency1)} | {Serving(row.Concurrency64)} |");
        }

        return 0;
    }

    /// <summary>
    /// Scores published checkpoints on the test split without a service (in-scope accuracy with the threshold,
    /// arg-max, out-of-scope recall): for runs whose service was stopped before its table was printed.
    /// </summary>
    public static async Task<int> ScoreCheckpointsAsync(string datasets, IReadOnlyList<string> checkpoints)
    {
        var test = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        Console.WriteLine("| checkpoint | test in-scope acc. (threshold) | in-scope arg-max | oos recall |");
        Console.WriteLine("|---|---|---|---|");
        foreach (string path in checkpoints)
        {
            var (report, argMax) = await TrainingBenchmark.ScoreOnTestAsync(path, test);
            Console.WriteLine($"| {Path.GetFileName(path)} | {report.OutOfScope?.InScopeAccuracy:P2} (threshold {report.OutOfScope?.Threshold:F3}) | {argMax.Accuracy:P2} | {report.OutOfScope?.OutOfScopeRecall:P1} |");
        }

        return 0;
    }

    /// <summary>
    /// Writes <c>copies</c> variants of every training text (seed 1) to a text-only CSV and uploads it; returns its
    /// dataset id. The out-of-scope rows are varied too: the teacher labels them as it sees them. (A transfer set of
    /// words replaced by their embedding neighbours is a job option: the <c>distillation_transfer_copies</c>
    /// hyperparameter.)
    /// </summary>
    private static async Task<string> UploadTransferSetAsync(HttpClient client, string trainPath, string spec)
    {
        var settings = JsonSerializer.Deserialize<AugmentationSettings>(spec, TrainingJson.Options)
            ?? throw new ArgumentException("--transfer-set takes an augmentation spec.");
        var texts = (await TrainingBenchmark.ReadCsvAsync(trainPath)).Select(r => r.Text).ToList();
        var random = new Random(1);
        string path = Path.Combine(Path.GetTempPath(), $"clinc150-transfer-{Environment.ProcessId}.csv");
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync("text");
            for (int copy = 0; copy < settings.Copies; copy++)
            {
                foreach (string text in texts)
                {
                    await writer.WriteLineAsync("\"" + TextAugmentation.Variant(text, settings, random).Replace("\"", "\"\"", StringComparison.Ordinal) + "\"");
                }
            }
        }

        // Variants may repeat a text or each other; a transfer set keeps them (each is a draw).
        string id = await TrainingBenchmark.UploadAsync(client, path, ("text_only", "true"), ("dedupe", "false"));
        File.Delete(path);
        Console.WriteLine($"transfer set {spec}: {texts.Count * settings.Copies} variants of {texts.Count} training texts");
        return id;
    }

    private static string Serving(ServingBenchmark.WrkResult? result) =>
        result is null ? "—" : $"{result.PerSecond:F0}, {result.P50 * 1000:F2} / {result.P99 * 1000:F2}{(result.Errors > 0 ? $" ({result.Errors} errors)" : string.Empty)}";

    private static async Task<JsonNode> TrainAsync(HttpClient client, string train, string validation, string model, JsonObject extra)
    {
        var body = new JsonObject
        {
            ["training_dataset_id"] = train,
            ["validation_dataset_id"] = validation,
            ["model"] = model,
            ["out_of_scope_label"] = "oos",
        };
        foreach (var (key, value) in extra)
        {
            body[key] = value?.DeepClone();
        }

        var clock = Stopwatch.StartNew();
        var created = await TrainingBenchmark.PostJsonAsync(client, "/v1/fine-tuning/jobs", body);
        JsonNode job;
        do
        {
            await Task.Delay(1000);
            job = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{created["id"]}"))!;
        }
        while ((string)job["status"]! is "queued" or "running");

        if ((string)job["status"]! != "succeeded")
        {
            throw new InvalidOperationException($"{model} failed: {job.ToJsonString()}");
        }

        Console.WriteLine($"{model}:{job["result"]!["version"]} trained in {clock.Elapsed.TotalSeconds:F0} s ({body.ToJsonString()})");
        return job;
    }

    /// <summary>Scores the job's published model on the test split, as <see cref="TrainingBenchmark"/> does.</summary>
    private static async Task<Row> ScoreAsync(ServiceProcess service, JsonNode job, string name, IReadOnlyList<Training.Data.LabelledText> test, string? cache)
    {
        string model = (string)job["model"]!;
        string checkpointPath = Path.Combine(service.DataDirectory, "artifacts", "models", model, $"{job["id"]}.ckpt");
        var (report, argMax) = await TrainingBenchmark.ScoreOnTestAsync(checkpointPath, test);
        var started = DateTimeOffset.Parse((string)job["started_at"]!, CultureInfo.InvariantCulture);
        var finished = DateTimeOffset.Parse((string)job["finished_at"]!, CultureInfo.InvariantCulture);
        return new Row(name, $"{model}:{job["result"]!["version"]}", (finished - started).TotalSeconds,
            report.OutOfScope?.InScopeAccuracy ?? double.NaN, report.OutOfScope?.Threshold ?? double.NaN, argMax.Accuracy,
            report.OutOfScope?.OutOfScopeRecall ?? double.NaN, (double)job["metrics"]!["validation_accuracy"]!, cache);
    }

    private sealed record Row(string Name, string Model, double JobSeconds, double InScope, double Threshold, double ArgMax, double OutOfScopeRecall, double Validation, string? Cache)
    {
        public ServingBenchmark.WrkResult? Concurrency1 { get; set; }

        public ServingBenchmark.WrkResult? Concurrency64 { get; set; }
    }
}
