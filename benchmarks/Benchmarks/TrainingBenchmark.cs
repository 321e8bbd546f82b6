using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Loop;

namespace TextClassification.Benchmarks;

/// <summary>
/// CLINC150 through the API with default hyperparameters: upload train and validation, train with out-of-scope
/// label <c>oos</c>, then score the published model on the test split (in-scope accuracy and out-of-scope recall,
/// the CLINC150 paper's measures). Reports the wall time the client waited, training throughput and peak memory.
/// </summary>
internal static class TrainingBenchmark
{
    /// <param name="apiDll">The published service.</param>
    /// <param name="datasets">The CLINC150 folder.</param>
    /// <param name="options">
    /// <c>--architecture NAME</c>, <c>--base-model ID</c> (a pretrained encoder such as <c>minilm-l6</c>),
    /// <c>--hyperparameters JSON</c> (overrides), <c>--per-intent N</c> (train on N texts per intent, sampled with a
    /// fixed seed, out-of-scope texts left out: the few-shot setting), <c>--isolation InProcess|ChildProcess</c>
    /// (<c>Jobs:TrainingProcess:Isolation</c>, where the worker trains), <c>--repeat N</c> (run the job N times, one after
    /// another, and report the worker's memory after each); a bare first word is the architecture.
    /// </param>
    public static async Task<int> RunAsync(string apiDll, string datasets, IReadOnlyList<string> options)
    {
        string? architecture = null;
        string? baseModel = null;
        string? hyperparameters = null;
        int? perIntent = null;
        string? isolation = null;
        int repeat = 1;
        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case "--architecture": architecture = options[++i]; break;
                case "--base-model": baseModel = options[++i]; break;
                case "--hyperparameters": hyperparameters = options[++i]; break;
                case "--per-intent": perIntent = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--isolation": isolation = options[++i]; break;
                case "--repeat": repeat = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                default: architecture = options[i]; break;
            }
        }

        await using var service = await ServiceProcess.StartAsync(
            apiDll, isolation is null ? null : new Dictionary<string, string> { ["Jobs:TrainingProcess:Isolation"] = isolation });
        using var client = service.CreateClient();

        string trainPath = Path.Combine(datasets, "train.csv");
        string? sampled = perIntent is int n ? await SampleAsync(trainPath, n) : null;
        string train = await UploadAsync(client, sampled ?? trainPath);
        string validation = await UploadAsync(client, Path.Combine(datasets, "validation.csv"));
        double rssBefore = service.ResidentMiB();

        var body = new JsonObject
        {
            ["training_dataset_id"] = train,
            ["validation_dataset_id"] = validation,
            ["model"] = "clinc150",
            ["out_of_scope_label"] = "oos",
        };
        if (architecture is not null)
        {
            body["architecture"] = architecture;
        }

        if (baseModel is not null)
        {
            body["base_model"] = baseModel;
        }

        if (hyperparameters is not null)
        {
            body["hyperparameters"] = JsonNode.Parse(hyperparameters);
        }

        // With --repeat, the same job runs again after each one ends: the worker's memory after each shows whether
        // what a job took comes back (the figures are for the last job).
        var rssAfterEach = new List<double>();
        JsonNode job;
        string jobId;
        double waited;
        do
        {
            var clock = Stopwatch.StartNew();
            var created = await PostJsonAsync(client, "/v1/fine-tuning/jobs", body);
            jobId = (string)created["id"]!;
            do
            {
                await Task.Delay(250);
                job = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{jobId}"))!;
            }
            while ((string)job["status"]! is "queued" or "running");

            waited = clock.Elapsed.TotalSeconds;
            // What the worker holds once the job is over: the training's memory stays with the worker when it trained
            // in process (libtorch's allocator and the managed heap keep it), and leaves with the child process otherwise.
            await Task.Delay(TimeSpan.FromSeconds(5));
            rssAfterEach.Add(service.ResidentMiB());
        }
        while (rssAfterEach.Count < repeat && (string)job["status"]! == "succeeded");

        if ((string)job["status"]! != "succeeded")
        {
            Console.Error.WriteLine(job.ToJsonString());
            return 1;
        }

        var started = DateTimeOffset.Parse((string)job["started_at"]!, CultureInfo.InvariantCulture);
        var finished = DateTimeOffset.Parse((string)job["finished_at"]!, CultureInfo.InvariantCulture);
        var events = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{jobId}/events?limit=1000"))!["data"]!.AsArray();
        var throughput = events.Where(e => (string)e!["type"]! == "step_loss")
            .Select(e => (double)e!["data"]!["examples_per_second"]!)
            .Order()
            .ToList();
        int epochs = events.Count(e => (string)e!["type"]! == "epoch_completed");
        var childPeak = events.Where(e => (string)e!["type"]! == "training_process" && e["data"]?["peak_memory_bytes"] is not null)
            .Select(e => (long)e!["data"]!["peak_memory_bytes"]! / 1024.0 / 1024.0)
            .Cast<double?>()
            .LastOrDefault();

        // Score the published model on the test split, with its own tokenizer, labels and out-of-scope threshold.
        string checkpointPath = Directory.GetFiles(Path.Combine(service.DataDirectory, "artifacts", "models", "clinc150"), $"{jobId}.ckpt").Single();
        var test = await ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        var (report, argMax) = await ScoreOnTestAsync(checkpointPath, test);

        Console.WriteLine($"training rows           {(perIntent is int k ? $"{k} per intent (sampled, seed 1, no oos)" : "all of train.csv")}");
        Console.WriteLine($"architecture            {job["architecture"]}{(baseModel is null ? string.Empty : $" from {baseModel}")}");
        Console.WriteLine($"hyperparameters         {job["hyperparameters"]!.ToJsonString()}");
        Console.WriteLine($"epochs run              {epochs}");
        Console.WriteLine($"client wait (s)         {waited:F1}   (job create -> succeeded, through the API)");
        Console.WriteLine($"job running (s)         {(finished - started).TotalSeconds:F1}");
        Console.WriteLine($"validation accuracy     {(double)job["metrics"]!["validation_accuracy"]!:P2} (in-scope rows, arg-max)");
        Console.WriteLine($"oos threshold           {report.OutOfScope?.Threshold:F3}");
        Console.WriteLine($"test in-scope accuracy  {report.OutOfScope?.InScopeAccuracy:P2} ({report.OutOfScope?.InScopeExamples} rows)");
        Console.WriteLine($"test in-scope arg-max   {argMax.Accuracy:P2} (no threshold)");
        Console.WriteLine($"test oos recall         {report.OutOfScope?.OutOfScopeRecall:P2} ({report.OutOfScope?.OutOfScopeExamples} rows)");
        Console.WriteLine($"throughput (ex/s)       median {Median(throughput):F0} over {throughput.Count} samples");
        Console.WriteLine($"training isolation      {isolation ?? "default (ChildProcess)"}");
        Console.WriteLine($"worker RSS (MiB)        {rssBefore:F0} before training, peak {service.PeakResidentMiB():F0}, 5 s after each job ended: {string.Join(", ", rssAfterEach.Select(rss => rss.ToString("F0", CultureInfo.InvariantCulture)))}");
        Console.WriteLine($"training process (MiB)  {(childPeak is { } peak ? $"peak {peak:F0} (sampled every 100 ms by the worker)" : "none (trained in the worker)")}");
        return 0;
    }

    /// <summary>
    /// <paramref name="perIntent"/> texts of every in-scope intent (and of <c>oos</c> too when
    /// <paramref name="includeOutOfScope"/>), drawn with a fixed seed; written to a temporary CSV (the few-shot
    /// setting: a team starting out has a handful of examples per intent).
    /// </summary>
    internal static async Task<string> SampleAsync(string csvPath, int perIntent, bool includeOutOfScope = false)
    {
        var rows = await ReadCsvAsync(csvPath);
        var random = new Random(1);
        var sample = rows.Where(r => includeOutOfScope || r.Label != "oos")
            .GroupBy(r => r.Label, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .SelectMany(g => g.OrderBy(_ => random.Next()).Take(perIntent))
            .ToList();
        string path = Path.Combine(Path.GetTempPath(), $"clinc150-{Path.GetFileNameWithoutExtension(csvPath)}-{perIntent}-per-intent{(includeOutOfScope ? "-with-oos" : string.Empty)}.csv");
        var csv = new StringBuilder("text,label\n");
        foreach (var row in sample)
        {
            csv.Append('"').Append(row.Text.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\",").Append(row.Label).Append('\n');
        }

        await File.WriteAllTextAsync(path, csv.ToString());
        return path;
    }

    /// <summary>
    /// A published checkpoint's figures on the test split: with its own out-of-scope threshold (in-scope accuracy and
    /// out-of-scope recall, the CLINC150 paper's measures), and arg-max over the in-scope rows without it (the accuracy
    /// papers also quote).
    /// </summary>
    internal static async Task<(EvaluationReport Report, EvaluationReport ArgMax)> ScoreOnTestAsync(string checkpointPath, IReadOnlyList<LabelledText> test)
    {
        TrainingCheckpoint checkpoint;
        await using (var stream = File.OpenRead(checkpointPath))
        {
            checkpoint = TrainingCheckpoint.ReadFrom(stream);
        }

        using var classifier = TrainedClassifier.Load(checkpoint);
        var report = classifier.Evaluate(test);
        using var argMaxClassifier = TrainedClassifier.Load(checkpoint with { OutOfScopeThreshold = null });
        return (report, argMaxClassifier.Evaluate(test.Where(row => row.Label != "oos").ToList()));
    }

    private static double Median(IReadOnlyList<double> sorted) => sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];

    /// <summary>Uploads a CSV as a dataset, with any further form fields (<c>text_only</c>, <c>dedupe</c>...); returns its id.</summary>
    internal static async Task<string> UploadAsync(HttpClient client, string path, params (string Name, string Value)[] fields)
    {
        using var form = new MultipartFormDataContent();
        var file = new StreamContent(File.OpenRead(path));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", Path.GetFileName(path));
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        var response = await client.PostAsync("/v1/datasets", form);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Upload of {path} failed: {text}");
        }

        return (string)JsonNode.Parse(text)!["id"]!;
    }

    internal static async Task<JsonNode> PostJsonAsync(HttpClient client, string path, JsonNode body)
    {
        var response = await client.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path} failed: {text}");
        }

        return JsonNode.Parse(text)!;
    }

    internal static async Task<List<LabelledText>> ReadCsvAsync(string path)
    {
        using var normalized = new MemoryStream();
        await using (var source = File.OpenRead(path))
        {
            var result = await DatasetImporter.ImportAsync(source, path, new DatasetImportOptions { Dedupe = false }, normalized);
            if (result.IsRejected)
            {
                throw new InvalidOperationException(result.Errors[0].Message);
            }
        }

        normalized.Position = 0;
        var rows = new List<LabelledText>();
        await foreach (var row in DatasetRowReader.ReadAsync(normalized))
        {
            rows.Add(row);
        }

        return rows;
    }
}
