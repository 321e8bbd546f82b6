using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Benchmarks;

/// <summary>
/// One-text runs of a published classifier's ONNX file under ONNX Runtime session settings that might cut a run's fixed
/// cost (the largest part of a concurrency-1 request's own work, docs/benchmarks.md "Serving overhead"). Each setting
/// gets its own session on one thread, as the service's; they take turns over the same texts (CLINC150 test texts, one
/// per run, so the sequence length varies as it does in serving), several rounds, and the median per round is kept.
/// </summary>
internal static class SessionOptionsBenchmark
{
    private sealed record Setting(string Name, Action<SessionOptions> Configure, bool Binding = false);

    public static async Task<int> RunAsync(string onnxPath, string datasets, int rounds)
    {
        byte[] model = await File.ReadAllBytesAsync(onnxPath);
        var texts = (await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"))).Select(r => r.Text).Take(2000).ToList();
        Setting[] settings =
        [
            new("service (as SessionFactory)", _ => { }),
            new("no memory pattern", o => o.EnableMemoryPattern = false),
            new("no CPU arena", o => o.EnableCpuMemArena = false),
            new("no memory pattern, no CPU arena", o => { o.EnableMemoryPattern = false; o.EnableCpuMemArena = false; }),
            new("service's options, inputs and output through an OrtIoBinding", _ => { }, Binding: true),
        ];

        var sessions = settings.Select(s =>
        {
            var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                IntraOpNumThreads = 1,
                InterOpNumThreads = 1,
            };
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            s.Configure(options);
            return new InferenceSession(model, options);
        }).ToList();

        var metadata = ClassifierMetadata.FromProperties(sessions[0].ModelMetadata.CustomMetadataMap);
        var tokenizer = new TextTokenizer(metadata.Tokenizer);
        var encoded = texts.Select(t => tokenizer.EncodeBatch([t])).Select(b => (Ids: b.InputIds.ToArray(), Mask: b.AttentionMask.ToArray(), Length: b.SequenceLength)).ToList();
        var logits = new float[metadata.Labels.Count];
        using var runOptions = new RunOptions();
        string[] inputs = [ClassifierMetadata.InputIdsName, ClassifierMetadata.AttentionMaskName];
        string[] outputs = [ClassifierMetadata.LogitsName];

        double RunAll(InferenceSession session, bool binding)
        {
            using var bound = binding ? session.CreateIoBinding() : null;
            var clock = Stopwatch.StartNew();
            foreach (var (ids, mask, length) in encoded)
            {
                long[] shape = [1, length];
                using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
                using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
                using var output = OrtValue.CreateTensorValueFromMemory(logits, [1, metadata.Labels.Count]);
                if (bound is null)
                {
                    session.Run(runOptions, inputs, [idsValue, maskValue], outputs, [output]);
                }
                else
                {
                    bound.BindInput(inputs[0], idsValue);
                    bound.BindInput(inputs[1], maskValue);
                    bound.BindOutput(outputs[0], output);
                    session.RunWithBinding(runOptions, bound);
                }
            }

            return clock.Elapsed.TotalMicroseconds / encoded.Count;
        }

        for (int i = 0; i < sessions.Count; i++)
        {
            RunAll(sessions[i], settings[i].Binding);
        }

        var perRun = settings.Select(_ => new List<double>()).ToList();
        for (int round = 0; round < rounds; round++)
        {
            // Alternate the order so that no setting always runs right after the same one.
            var order = Enumerable.Range(0, sessions.Count);
            foreach (int i in round % 2 == 0 ? order : order.Reverse())
            {
                perRun[i].Add(RunAll(sessions[i], settings[i].Binding));
            }
        }

        Console.WriteLine($"{encoded.Count} one-text runs per round, {rounds} rounds, mean sequence length {encoded.Average(e => e.Length):F1}");
        Console.WriteLine("| setting | µs per run (median of rounds) | against the service's |");
        Console.WriteLine("|---|---|---|");
        double baseline = Median(perRun[0]);
        for (int i = 0; i < settings.Length; i++)
        {
            double median = Median(perRun[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {settings[i].Name} | {median:F1} | {median / baseline:F3} |"));
        }

        sessions.ForEach(s => s.Dispose());
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
