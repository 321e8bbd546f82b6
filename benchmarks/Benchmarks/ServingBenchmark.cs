using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Benchmarks;

/// <summary>
/// Serving speed, side by side in one run on one model (the default architecture trained on CLINC150 through the
/// API): raw in-process <c>InferenceSession.Run</c> at batch 1 and 32 on the downloaded ONNX file, then the service's
/// <c>/v1</c> predict over HTTP at concurrency 1, 16 and 64 with wrk (one CLINC150 test text per request), with the
/// dynamic batcher on and then off. Queue and compute time come from the service's own <c>/metrics</c>.
/// </summary>
internal static partial class ServingBenchmark
{
    private const string Model = "clinc150";
    private const int WarmUpRuns = 300;
    private const int TimedRunsBatch1 = 3000;
    private const int TimedRunsBatch32 = 400;
    private static readonly int[] Concurrency = [1, 16, 64];

    public static async Task<int> RunAsync(string apiDll, string datasets, int seconds)
    {
        await using var service = await ServiceProcess.StartAsync(apiDll);
        using var client = service.CreateClient();
        int version = await TrainAsync(client, datasets, Model);
        byte[] onnx = await client.GetByteArrayAsync($"/v1/models/{Model}/versions/{version}/onnx");
        var texts = (await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"))).Select(r => r.Text).ToList();
        Console.WriteLine($"model                   {Model}:{version}, ONNX {onnx.Length / 1024.0 / 1024.0:F1} MiB, {texts.Count} test texts");
        Console.WriteLine($"machine                 {Environment.ProcessorCount} cores; load generator: wrk on the same machine (loopback)");

        var agreement = await CompareProtocolsAsync(client, onnx, version, texts);
        Console.WriteLine($"same labels             {agreement}");

        var raw = MeasureRaw(onnx, texts);
        Console.WriteLine();
        Console.WriteLine("| what | requests/s (texts/s) | p50 | p99 |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| raw Run, batch 1 (pre-tokenized) | {raw.Batch1.PerSecond:F0} | {Ms(raw.Batch1.P50)} | {Ms(raw.Batch1.P99)} |");
        Console.WriteLine($"| raw tokenize + Run, batch 1 | {raw.TokenizeBatch1.PerSecond:F0} | {Ms(raw.TokenizeBatch1.P50)} | {Ms(raw.TokenizeBatch1.P99)} |");
        Console.WriteLine($"| raw Run, batch 32 (pre-tokenized) | {raw.Batch32.PerSecond * 32:F0} texts/s | {Ms(raw.Batch32.P50)} | {Ms(raw.Batch32.P99)} |");

        string script = WriteWrkScript(texts.Take(1000).ToList(), service.AdminKey, Model);
        var batched = new List<(int Concurrency, WrkResult Result)>();
        foreach (int c in Concurrency)
        {
            var result = await WrkAsync(service.Address, script, c, seconds);
            batched.Add((c, result));
            Console.WriteLine($"| HTTP /v1 predict, batching on, concurrency {c} | {result.PerSecond:F0} | {Ms(result.P50)} | {Ms(result.P99)} |{Errors(result)}");
        }

        string metrics = await client.GetStringAsync("/metrics");

        await using (var unbatched = await ServiceProcess.StartAsync(apiDll, new Dictionary<string, string> { ["Inference:BatchingEnabled"] = "false", ["Security:BootstrapAdminKey"] = service.AdminKey }, service.DataDirectory))
        {
            foreach (int c in Concurrency)
            {
                var result = await WrkAsync(unbatched.Address, script, c, seconds);
                Console.WriteLine($"| HTTP /v1 predict, batching off, concurrency {c} | {result.PerSecond:F0} | {Ms(result.P50)} | {Ms(result.P99)} |{Errors(result)}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("batching on, from /metrics over all its runs:");
        Console.WriteLine($"  mean batch size       {Mean(metrics, "inference_batch_size"):F2} texts");
        Console.WriteLine($"  mean queue time       {Mean(metrics, "inference_queue_duration_seconds") * 1000:F3} ms");
        Console.WriteLine($"  mean compute time     {Mean(metrics, "inference_compute_duration_seconds") * 1000:F3} ms per batch");
        var one = batched[0].Result;
        var many = batched[^1].Result;
        Console.WriteLine();
        Console.WriteLine($"p50 at concurrency 1 minus raw single-text Run p50: {(one.P50 - raw.Batch1.P50) * 1000:F3} ms (target <= 1 ms)");
        Console.WriteLine($"p50 at concurrency 1 minus raw tokenize + Run p50:  {(one.P50 - raw.TokenizeBatch1.P50) * 1000:F3} ms");
        Console.WriteLine($"throughput at concurrency 64 / raw batch-1 Run:     {many.PerSecond / raw.Batch1.PerSecond:P0} (target >= 60%)");
        Console.WriteLine($"throughput at concurrency 64 / raw batch-32 Run:    {many.PerSecond / (raw.Batch32.PerSecond * 32):P0}");
        Console.WriteLine($"service peak RSS        {service.PeakResidentMiB():F0} MiB");
        return 0;
    }

    /// <summary>Trains the default architecture on CLINC150 as <paramref name="model"/> and returns its version.</summary>
    internal static async Task<int> TrainAsync(HttpClient client, string datasets, string model)
    {
        string train = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "train.csv"));
        string validation = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "validation.csv"));
        var created = await TrainingBenchmark.PostJsonAsync(client, "/v1/fine-tuning/jobs", new JsonObject
        {
            ["training_dataset_id"] = train,
            ["validation_dataset_id"] = validation,
            ["model"] = model,
            ["out_of_scope_label"] = "oos",
        });
        JsonNode job;
        do
        {
            await Task.Delay(500);
            job = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{created["id"]}"))!;
        }
        while ((string)job["status"]! is "queued" or "running");

        if ((string)job["status"]! != "succeeded")
        {
            throw new InvalidOperationException($"Training failed: {job.ToJsonString()}");
        }

        return (int)job["result"]!["version"]!;
    }

    /// <summary>
    /// Labels every test text three ways: <c>/v1</c> predict (the top label), <c>/v2</c> infer (the arg-max of its
    /// probabilities) and a plain ONNX Runtime session on the downloaded file with the tokenizer from its metadata.
    /// </summary>
    private static async Task<string> CompareProtocolsAsync(HttpClient client, byte[] onnx, int version, IReadOnlyList<string> texts)
    {
        using var session = new InferenceSession(onnx);
        var metadata = ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap);
        var tokenizer = new TextTokenizer(metadata.Tokenizer);
        using var runOptions = new RunOptions();
        int labels = metadata.Labels.Count;
        int v1Agrees = 0;
        int v2Agrees = 0;
        int outOfScopeAgrees = 0;
        const int PerRequest = 100;
        for (int start = 0; start < texts.Count; start += PerRequest)
        {
            var slice = texts.Skip(start).Take(PerRequest).ToList();
            var batch = tokenizer.EncodeBatch(slice);
            long[] shape = [batch.Count, batch.SequenceLength];
            using var ids = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.InputIds, shape);
            using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.AttentionMask, shape);
            using var outputs = session.Run(runOptions, [ClassifierMetadata.InputIdsName, ClassifierMetadata.AttentionMaskName], [ids, mask], [ClassifierMetadata.LogitsName]);
            var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            var plain = Enumerable.Range(0, slice.Count).Select(row => metadata.Labels[ArgMax(logits.AsSpan(row * labels, labels))]).ToList();

            var v1 = await TrainingBenchmark.PostJsonAsync(client, $"/v1/models/{Model}/versions/{version}/predict",
                new JsonObject { ["inputs"] = new JsonArray(slice.Select(t => (JsonNode?)t).ToArray()), ["top_k"] = 1 });
            var v2 = await TrainingBenchmark.PostJsonAsync(client, $"/v2/models/{Model}/versions/{version}/infer", new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject
                {
                    ["name"] = "text", ["shape"] = new JsonArray(slice.Count), ["datatype"] = "BYTES",
                    ["data"] = new JsonArray(slice.Select(t => (JsonNode?)t).ToArray()),
                }),
            });
            var v2Outputs = v2["outputs"]!.AsArray();
            var probabilities = v2Outputs.Single(o => (string)o!["name"]! == "probabilities")!["data"]!.AsArray().Select(p => (float)p!).ToArray();
            var v2OutOfScope = v2Outputs.Single(o => (string)o!["name"]! == "out_of_scope")!["data"]!.AsArray().Select(p => (bool)p!).ToArray();
            var v1Predictions = v1["predictions"]!.AsArray();
            for (int row = 0; row < slice.Count; row++)
            {
                v1Agrees += (string)v1Predictions[row]!["top_k"]![0]!["label"]! == plain[row] ? 1 : 0;
                v2Agrees += metadata.Labels[ArgMax(probabilities.AsSpan(row * labels, labels))] == plain[row] ? 1 : 0;
                outOfScopeAgrees += (bool)v1Predictions[row]!["out_of_scope"]! == v2OutOfScope[row] ? 1 : 0;
            }
        }

        return $"/v1 = plain ONNX Runtime on {v1Agrees}/{texts.Count} texts, /v2 = plain on {v2Agrees}/{texts.Count}, /v1 and /v2 out-of-scope flags equal on {outOfScopeAgrees}/{texts.Count}";
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    internal sealed record Timing(double PerSecond, double P50, double P99);

    private sealed record RawTimings(Timing Batch1, Timing TokenizeBatch1, Timing Batch32);

    /// <summary>ONNX Runtime with its default session options, as an application embedding it would start.</summary>
    private static RawTimings MeasureRaw(byte[] onnx, IReadOnlyList<string> texts)
    {
        using var session = new InferenceSession(onnx);
        var metadata = ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap);
        var tokenizer = new TextTokenizer(metadata.Tokenizer);
        using var runOptions = new RunOptions();
        var singles = texts.Take(1000).Select(t => tokenizer.EncodeBatch([t])).ToList();
        var batches = Enumerable.Range(0, 50).Select(i => tokenizer.EncodeBatch(Enumerable.Range(i * 32, 32).Select(j => texts[j % texts.Count]).ToList())).ToList();

        for (int i = 0; i < WarmUpRuns; i++)
        {
            Run(session, runOptions, singles[i % singles.Count]);
            Run(session, runOptions, batches[i % batches.Count]);
        }

        var batch1 = Time(TimedRunsBatch1, i => Run(session, runOptions, singles[i % singles.Count]));
        var tokenize1 = Time(TimedRunsBatch1, i => Run(session, runOptions, tokenizer.EncodeBatch([texts[i % texts.Count]])));
        var batch32 = Time(TimedRunsBatch32, i => Run(session, runOptions, batches[i % batches.Count]));
        return new RawTimings(batch1, tokenize1, batch32);
    }

    internal static Timing Time(int runs, Action<int> run)
    {
        var seconds = new double[runs];
        var total = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++)
        {
            long started = Stopwatch.GetTimestamp();
            run(i);
            seconds[i] = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        double elapsed = total.Elapsed.TotalSeconds;
        Array.Sort(seconds);
        return new Timing(runs / elapsed, seconds[runs / 2], seconds[(int)(runs * 0.99)]);
    }

    internal static void Run(InferenceSession session, RunOptions runOptions, TokenizedBatch batch)
    {
        long[] shape = [batch.Count, batch.SequenceLength];
        using var ids = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.InputIds, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.AttentionMask, shape);
        using var outputs = session.Run(runOptions, [ClassifierMetadata.InputIdsName, ClassifierMetadata.AttentionMaskName], [ids, mask], [ClassifierMetadata.LogitsName]);
    }

    /// <summary>
    /// A wrk script that sends one text per request to <paramref name="model"/>'s <c>/v1</c> predict, cycling through
    /// <paramref name="texts"/>, with <paramref name="key"/>.
    /// </summary>
    internal static string WriteWrkScript(IReadOnlyList<string> texts, string key, string model) =>
        WriteWrkScript(texts, key, $"/v1/models/{model}/predict", text => new { inputs = new[] { text }, top_k = 1 });

    /// <summary>A wrk script that POSTs the body <paramref name="bodyOf"/> makes of each text to <paramref name="path"/> in turn, with <paramref name="key"/>.</summary>
    internal static string WriteWrkScript(IReadOnlyList<string> texts, string key, string path, Func<string, object> bodyOf)
    {
        var lua = new StringBuilder("local bodies = {\n");
        foreach (string text in texts)
        {
            lua.Append("  [==[").Append(JsonSerializer.Serialize(bodyOf(text))).Append("]==],\n");
        }

        lua.Append($$"""
            }
            local i = 0
            local headers = { ["Content-Type"] = "application/json", ["X-Api-Key"] = "{{key}}" }
            request = function()
              i = i % #bodies + 1
              return wrk.format("POST", "{{path}}", headers, bodies[i])
            end
            """);
        string file = Path.Combine(Path.GetTempPath(), $"serving-benchmark-{Environment.ProcessId}-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key + path)))[..12]}.lua");
        File.WriteAllText(file, lua.ToString());
        return file;
    }

    internal sealed record WrkResult(double PerSecond, double P50, double P99, long Requests, long Errors);

    /// <summary>Warms up for three seconds, then measures for <paramref name="seconds"/>.</summary>
    internal static async Task<WrkResult> WrkAsync(Uri address, string script, int connections, int seconds)
    {
        await RunWrkAsync(address, script, connections, 3);
        return Parse(await RunWrkAsync(address, script, connections, seconds));
    }

    private static async Task<string> RunWrkAsync(Uri address, string script, int connections, int seconds)
    {
        var start = new ProcessStartInfo("wrk")
        {
            ArgumentList = { "-t", Math.Min(connections, 2).ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "--latency", "-s", script, address.ToString() },
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start; install it with `apt-get install wrk`.");
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    private static WrkResult Parse(string output)
    {
        double perSecond = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        long requests = long.Parse(RequestCount().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var errors = NonSuccess().Match(output);
        return new WrkResult(perSecond, Percentile(output, "50"), Percentile(output, "99"), requests,
            errors.Success ? long.Parse(errors.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }

    private static double Percentile(string output, string percent)
    {
        var match = Regex.Match(output, $@"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        double value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value / 1e6,
            "ms" => value / 1e3,
            _ => value,
        };
    }

    /// <summary>The mean of a Prometheus histogram from its <c>_sum</c> and <c>_count</c>, over all its label sets.</summary>
    internal static double Mean(string metrics, string family)
    {
        var (sum, count) = SumAndCount(metrics, family);
        return count == 0 ? double.NaN : sum / count;
    }

    /// <summary>A Prometheus histogram's <c>_sum</c> and <c>_count</c>, over all its label sets.</summary>
    internal static (double Sum, double Count) SumAndCount(string metrics, string family)
    {
        double sum = 0;
        double count = 0;
        foreach (var line in metrics.Split('\n'))
        {
            var match = Regex.Match(line, $@"^\w*{family}_(sum|count)(\{{[^}}]*\}})?\s+([\d.eE+-]+)$");
            if (match.Success)
            {
                double value = double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
                if (match.Groups[1].Value == "sum")
                {
                    sum += value;
                }
                else
                {
                    count += value;
                }
            }
        }

        return (sum, count);
    }

    internal static string Ms(double seconds) => $"{seconds * 1000:F3} ms";

    internal static string Errors(WrkResult result) => result.Errors == 0 ? $" 0 errors in {result.Requests}" : $" **{result.Errors} errors** in {result.Requests}";

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestCount();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();
}
