using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;
using static TextClassification.Benchmarks.ServingBenchmark;

namespace TextClassification.Benchmarks;

/// <summary>
/// Serving the MiniLM classifier beside the n-gram bag, in one run (issue 10). Trains through the API, in one service
/// process: the n-gram bag on the whole CLINC150 training set (the shape it has in production); on
/// <see cref="PerIntent"/> texts per intent, the default Transformer (2 layers, width 128: a size between the two)
/// and MiniLM with a frozen encoder, twice (float32, and with <c>dynamic_int8</c>, whose INT8 graph is the one
/// <c>/v1</c> then serves: the registry has no switch to serve the float32 file of a quantized version). Only the
/// models' shapes matter here, not their accuracy. Then, with that process gone:
/// <list type="number">
/// <item>raw in-process ONNX Runtime on the downloaded files, with the service's own session settings at 1 and 2
/// intra-op threads: <c>Run</c> at batch 1 and 32, pre-tokenized and tokenize + run, and as many batch-32 runs side
/// by side as the service keeps in flight; every candidate timed in turns so that load from elsewhere falls on all
/// of them alike;</item>
/// <item><c>/v1</c> predict over HTTP with wrk at concurrency 1, 16 and 64, one fresh service process per model and
/// thread setting, which only serves (training memory does not count in its peak RSS).</item>
/// </list>
/// </summary>
internal static class EncoderServingBenchmark
{
    private const int PerIntent = 10;
    private const int ValidationPerIntent = 3;
    private const string BaseModel = "minilm-l6";
    private static readonly int[] Concurrency = [1, 16, 64];
    private static readonly int[] IntraOpThreads = [1, 2];

    // Each candidate runs this long before the next takes its turn.
    private static readonly TimeSpan Turn = TimeSpan.FromMilliseconds(250);

    private sealed record Served(string Model, string Description, byte[] Onnx);

    /// <param name="InFlight">Runs as many runs side by side as the service would at this thread setting (cores / threads).</param>
    private sealed record RawCase(string What, int Texts, bool Tokenize, bool InFlight = false);

    public static async Task<int> RunAsync(string apiDll, string datasets, int seconds)
    {
        string data = Directory.CreateTempSubdirectory("benchmark-serving-encoder-").FullName;
        try
        {
            var texts = (await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"))).Select(r => r.Text).ToList();
            var (adminKey, models) = await TrainAsync(apiDll, datasets, data);
            Console.WriteLine($"machine                 {Environment.ProcessorCount} cores; wrk on the same machine (loopback); load {LoadAverage()}");
            Console.WriteLine();
            MeasureRaw(models, texts, TimeSpan.FromSeconds(seconds));
            Console.WriteLine();
            Console.WriteLine($"load before HTTP        {LoadAverage()}");
            await MeasureHttpAsync(apiDll, data, adminKey, models, texts, seconds);
            Console.WriteLine($"load at the end         {LoadAverage()}");
            return 0;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Trains the three models in one service process on <paramref name="data"/>, downloads their ONNX files, and stops it.</summary>
    private static async Task<(string AdminKey, IReadOnlyList<Served> Models)> TrainAsync(string apiDll, string datasets, string data)
    {
        await using var trainer = await ServiceProcess.StartAsync(apiDll, sharedDataDirectory: data);
        using var client = trainer.CreateClient();
        string train = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "train.csv"));
        string validation = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "validation.csv"));
        string fewTrain = await TrainingBenchmark.UploadAsync(client, await TrainingBenchmark.SampleAsync(Path.Combine(datasets, "train.csv"), PerIntent));
        string fewValidation = await TrainingBenchmark.UploadAsync(client, await TrainingBenchmark.SampleAsync(Path.Combine(datasets, "validation.csv"), ValidationPerIntent, includeOutOfScope: true));

        // The frozen encoder: every text embedded once and only the head trained; a minute on two cores.
        var frozen = new JsonObject { ["train_layers"] = 0, ["seed"] = 1 };
        JsonObject[] jobs =
        [
            Job(train, validation, "ngram"),
            Job(fewTrain, fewValidation, "transformer", new JsonObject { ["architecture"] = "transformer", ["hyperparameters"] = new JsonObject { ["seed"] = 1 } }),
            Job(fewTrain, fewValidation, "minilm", new JsonObject { ["base_model"] = BaseModel, ["hyperparameters"] = frozen.DeepClone() }),
            Job(fewTrain, fewValidation, "minilm-int8", new JsonObject { ["base_model"] = BaseModel, ["hyperparameters"] = frozen.DeepClone(), ["quantization"] = "dynamic_int8" }),
        ];
        var created = new List<string>();
        foreach (var body in jobs)
        {
            created.Add((string)(await TrainingBenchmark.PostJsonAsync(client, "/v1/fine-tuning/jobs", body))["id"]!);
        }

        var versions = new List<int>();
        foreach (string id in created)
        {
            var job = await WaitAsync(client, id);
            var started = DateTimeOffset.Parse((string)job["started_at"]!, System.Globalization.CultureInfo.InvariantCulture);
            var finished = DateTimeOffset.Parse((string)job["finished_at"]!, System.Globalization.CultureInfo.InvariantCulture);
            Console.WriteLine($"trained                 {job["model"]} ({job["architecture"]}) in {(finished - started).TotalSeconds:F1} s");
            versions.Add((int)job["result"]!["version"]!);
        }

        var quantization = JsonNode.Parse(await client.GetStringAsync($"/v1/models/minilm-int8/versions/{versions[3]}"))!["quantization"];
        Console.WriteLine($"minilm-int8 quantization {quantization?.ToJsonString()}");
        Console.WriteLine($"training process        peak RSS {trainer.PeakResidentMiB():F0} MiB (not a serving figure)");

        var models = new List<Served>
        {
            new("ngram", "n-gram bag, float32", await client.GetByteArrayAsync($"/v1/models/ngram/versions/{versions[0]}/onnx?variant=float32")),
            new("transformer", "Transformer 2×128, float32", await client.GetByteArrayAsync($"/v1/models/transformer/versions/{versions[1]}/onnx?variant=float32")),
            new("minilm", "MiniLM, float32", await client.GetByteArrayAsync($"/v1/models/minilm/versions/{versions[2]}/onnx?variant=float32")),
            new("minilm-int8", "MiniLM, INT8", await client.GetByteArrayAsync($"/v1/models/minilm-int8/versions/{versions[3]}/onnx?variant=int8")),
        };
        foreach (var model in models)
        {
            Console.WriteLine($"ONNX                    {model.Description}: {model.Onnx.Length / 1024.0 / 1024.0:F1} MiB");
        }

        return (trainer.AdminKey, models);
    }

    private static JsonObject Job(string train, string validation, string model, JsonObject? fields = null)
    {
        var body = new JsonObject
        {
            ["training_dataset_id"] = train,
            ["validation_dataset_id"] = validation,
            ["model"] = model,
            ["out_of_scope_label"] = "oos",
        };
        foreach (var (key, value) in fields ?? [])
        {
            body[key] = value?.DeepClone();
        }

        return body;
    }

    private static async Task<JsonNode> WaitAsync(HttpClient client, string id)
    {
        JsonNode job;
        do
        {
            await Task.Delay(500);
            job = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{id}"))!;
        }
        while ((string)job["status"]! is "queued" or "running");

        return (string)job["status"]! == "succeeded" ? job : throw new InvalidOperationException($"Training failed: {job.ToJsonString()}");
    }

    /// <summary>
    /// Raw <c>Run</c> for every model at every thread setting. Each case times all the candidates in turns of
    /// <see cref="Turn"/> until each has run for <paramref name="budget"/>.
    /// </summary>
    private static void MeasureRaw(IReadOnlyList<Served> models, IReadOnlyList<string> texts, TimeSpan budget)
    {
        var candidates = new List<(string Description, int Threads, InferenceSession Session, TextTokenizer Tokenizer)>();
        using var runOptions = new RunOptions();
        try
        {
            foreach (var model in models)
            {
                foreach (int threads in IntraOpThreads)
                {
                    var session = CreateSession(model.Onnx, threads);
                    var metadata = ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap);
                    candidates.Add((model.Description, threads, session, new TextTokenizer(metadata.Tokenizer)));
                }
            }

            var singles = texts.Take(1000).Select(t => (IReadOnlyList<string>)[t]).ToList();
            var thirtyTwos = Enumerable.Range(0, 50).Select(i => (IReadOnlyList<string>)Enumerable.Range(i * 32, 32).Select(j => texts[j % texts.Count]).ToList()).ToList();
            Console.WriteLine("| model | intra-op threads | what | runs/s (texts/s) | p50 | p99 |");
            Console.WriteLine("|---|---|---|---|---|---|");
            RawCase[] cases =
            [
                new("Run, batch 1 (pre-tokenized)", 1, false),
                new("tokenize + Run, batch 1", 1, true),
                new("Run, batch 32 (pre-tokenized)", 32, false),
                new("tokenize + Run, batch 32", 32, true),
                new("Run, batch 32, cores / threads runs side by side", 32, false, InFlight: true),
            ];
            foreach (var @case in cases)
            {
                var inputs = @case.Texts == 1 ? singles : thirtyTwos;
                var actions = candidates.Select(candidate =>
                {
                    var encoded = inputs.Select(batch => candidate.Tokenizer.EncodeBatch(batch)).ToList();
                    int inFlight = @case.InFlight ? RunsInFlight(candidate.Threads) : 1;
                    Action<int> run = @case.Tokenize
                        ? i => Run(candidate.Session, runOptions, candidate.Tokenizer.EncodeBatch(inputs[i % inputs.Count]))
                        : inFlight == 1
                            ? i => Run(candidate.Session, runOptions, encoded[i % encoded.Count])
                            : i => Parallel.For(0, inFlight, j => Run(candidate.Session, runOptions, encoded[((i * inFlight) + j) % encoded.Count]));
                    for (int i = 0; i < 5; i++)
                    {
                        run(i);
                    }

                    return run;
                }).ToList();
                var timings = TimeInTurns(actions, budget);
                for (int k = 0; k < candidates.Count; k++)
                {
                    double runs = timings[k].PerSecond * (@case.InFlight ? RunsInFlight(candidates[k].Threads) : 1);
                    string rate = @case.Texts == 1 ? $"{runs:F0}" : $"{runs:F1} ({runs * @case.Texts:F0} texts/s)";
                    Console.WriteLine($"| {candidates[k].Description} | {candidates[k].Threads} | {@case.What} | {rate} | {Ms(timings[k].P50)} | {Ms(timings[k].P99)} |");
                }
            }
        }
        finally
        {
            foreach (var candidate in candidates)
            {
                candidate.Session.Dispose();
            }
        }
    }

    /// <summary>The session settings the service's SessionFactory uses, with <paramref name="intraOpThreads"/> threads per run.</summary>
    private static InferenceSession CreateSession(byte[] onnx, int intraOpThreads)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new InferenceSession(onnx, options);
    }

    /// <summary>
    /// Times every candidate for <paramref name="budget"/>, in turns of <see cref="Turn"/>, so that a burst of load
    /// from elsewhere on the machine falls on all of them alike rather than on whichever was running then.
    /// </summary>
    private static Timing[] TimeInTurns(IReadOnlyList<Action<int>> candidates, TimeSpan budget)
    {
        var samples = candidates.Select(_ => new List<double>()).ToArray();
        var spent = new TimeSpan[candidates.Count];
        while (spent.Any(s => s < budget))
        {
            for (int k = 0; k < candidates.Count; k++)
            {
                if (spent[k] >= budget)
                {
                    continue;
                }

                var turn = Stopwatch.StartNew();
                do
                {
                    long started = Stopwatch.GetTimestamp();
                    candidates[k](samples[k].Count);
                    samples[k].Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                while (turn.Elapsed < Turn);

                spent[k] += turn.Elapsed;
            }
        }

        return samples.Select((runs, k) =>
        {
            runs.Sort();
            return new Timing(runs.Count / spent[k].TotalSeconds, runs[runs.Count / 2], runs[(int)(runs.Count * 0.99)]);
        }).ToArray();
    }

    /// <summary>
    /// <c>/v1</c> predict for every model at every thread setting, each in a fresh service process over the trained
    /// data that only serves. A model's processes run side by side and take turns level by level, so that load from
    /// elsewhere falls on both settings alike; the one not measured is idle. Peak RSS (VmHWM) is read after the last
    /// level.
    /// </summary>
    private static async Task MeasureHttpAsync(string apiDll, string data, string adminKey, IReadOnlyList<Served> models, IReadOnlyList<string> texts, int seconds)
    {
        var rows = new List<string>();
        Console.WriteLine();
        Console.WriteLine("| model | intra-op threads × runs in flight | concurrency | requests/s | p50 | p99 | mean batch |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var model in models)
        {
            string script = WriteWrkScript(texts.Take(1000).ToList(), adminKey, model.Model);
            var services = new List<(int Threads, ServiceProcess Service, double ReadyMiB)>();
            try
            {
                foreach (int threads in IntraOpThreads)
                {
                    var service = await ServiceProcess.StartAsync(apiDll, new Dictionary<string, string>
                    {
                        ["Security:BootstrapAdminKey"] = adminKey,
                        ["Inference:IntraOpThreads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    }, data);
                    services.Add((threads, service, service.ResidentMiB()));
                }

                foreach (int c in Concurrency)
                {
                    foreach (var (threads, service, _) in services)
                    {
                        using var client = service.CreateClient();
                        var before = SumAndCount(await client.GetStringAsync("/metrics"), "inference_batch_size");
                        var result = await WrkAsync(service.Address, script, c, seconds);
                        var after = SumAndCount(await client.GetStringAsync("/metrics"), "inference_batch_size");
                        double meanBatch = (after.Sum - before.Sum) / (after.Count - before.Count);
                        Console.WriteLine($"| {model.Description} | {Setting(threads)} | {c} | {result.PerSecond:F0} | {Ms(result.P50)} | {Ms(result.P99)} | {meanBatch:F1} |{Errors(result)}");
                    }
                }

                foreach (var (threads, service, ready) in services)
                {
                    rows.Add($"| {model.Description} | {Setting(threads)} | {ready:F0} MiB | {service.ResidentMiB():F0} MiB | {service.PeakResidentMiB():F0} MiB |");
                }
            }
            finally
            {
                foreach (var (_, service, _) in services)
                {
                    await service.DisposeAsync();
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| serving process | intra-op threads × runs in flight | RSS when ready (no model loaded) | RSS after the runs | peak RSS (VmHWM) |");
        Console.WriteLine("|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
    }

    /// <summary>Threads per run × runs in flight, as the service's SessionFactory pairs them on the CPU.</summary>
    private static string Setting(int threads) => $"{threads} × {RunsInFlight(threads)}";

    private static int RunsInFlight(int threads) => Math.Max(1, Environment.ProcessorCount / threads);

    internal static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
