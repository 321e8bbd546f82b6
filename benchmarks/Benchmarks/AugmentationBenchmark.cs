using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TextClassification.Training.Data;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using TorchSharp;

namespace TextClassification.Benchmarks;

/// <summary>
/// Data augmentation on CLINC150: each configuration and seed trained in this process with the trainer jobs use (the
/// n-gram bag's defaults, <c>out_of_scope_label</c> <c>oos</c>, the whole <c>validation.csv</c> choosing the best epoch
/// and the threshold), then scored on <c>test.csv</c> (in-scope accuracy with the threshold, out-of-scope recall).
/// The service's own path (upload, job, export) adds nothing to these figures and minutes to every run; one
/// configuration is confirmed through the API with the training benchmark. Prints one line per run as it ends, then
/// the medians over seeds.
/// </summary>
internal static class AugmentationBenchmark
{
    /// <summary>The configurations that can be named, as <c>hyperparameters</c> overrides (the seed is added per run).</summary>
    private static readonly Dictionary<string, string> Configurations = new()
    {
        ["none"] = "{}",
        ["word_deletion"] = """{"augmentation": {"word_deletion": 0.1}}""",
        ["word_swap"] = """{"augmentation": {"word_swap": 0.1}}""",
        ["word_insertion"] = """{"augmentation": {"word_insertion": 0.1}}""",
        ["typos"] = """{"augmentation": {"typos": 0.1}}""",
        ["all"] = """{"augmentation": {"word_deletion": 0.1, "word_swap": 0.1, "word_insertion": 0.1, "typos": 0.1}}""",
        ["none_20_epochs"] = """{"epochs": 20}""",
    };

    /// <param name="datasets">The CLINC150 folder.</param>
    /// <param name="options">
    /// <c>--per-intent N</c> (N texts per intent, sampled as the training benchmark does; else the whole train.csv),
    /// <c>--threads N</c> (libtorch's CPU threads; on a machine other work keeps busy, 1 wastes far less time
    /// waiting for its other thread than the default of one per core), <c>--seeds 1,2,3</c>, <c>--configs "none;typos;..."</c> (names above, or <c>name=JSON</c> for any other
    /// overrides).
    /// </param>
    public static async Task<int> RunAsync(string datasets, IReadOnlyList<string> options)
    {
        int? perIntent = null;
        int[] seeds = [1, 2, 3];
        var configurations = Configurations.Keys.Where(k => k != "none_20_epochs").Select(k => (Name: k, Json: Configurations[k])).ToList();
        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case "--threads": torch.set_num_threads(int.Parse(options[++i], CultureInfo.InvariantCulture)); break;
                case "--per-intent": perIntent = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--seeds": seeds = options[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--configs":
                    configurations = options[++i].Split(';').Select(c => c.Split('=', 2) is [var name, var json] ? (name, json) : (c, Configurations[c])).ToList();
                    break;
                default: Console.Error.WriteLine($"unknown option {options[i]}"); return 2;
            }
        }

        string trainPath = Path.Combine(datasets, "train.csv");
        var train = await TrainingBenchmark.ReadCsvAsync(perIntent is int n ? await TrainingBenchmark.SampleAsync(trainPath, n) : trainPath);
        var validation = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "validation.csv"));
        var test = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        var architecture = ArchitectureRegistry.Get(ArchitectureRegistry.NGramBag);

        Console.WriteLine($"training rows: {(perIntent is int k ? $"{k} per intent (sampled, seed 1, no oos)" : "all of train.csv")}, {train.Count}");
        Console.WriteLine("configuration\tseed\tin-scope accuracy\toos recall\tepochs\tseconds");
        var results = new List<(string Name, double InScope, double Recall)>();
        foreach (int seed in seeds)
        {
            foreach (var (name, json) in configurations)
            {
                var overrides = JsonSerializer.Deserialize<HyperparameterOverrides>(json, TrainingJson.Options)! with { Seed = seed };
                var hyperparameters = overrides.ApplyTo(architecture.DefaultHyperparameters);
                var clock = Stopwatch.StartNew();
                var result = Trainer.Train(new TrainingRequest
                {
                    Architecture = architecture.Name,
                    Hyperparameters = hyperparameters,
                    Train = train,
                    Validation = validation,
                    OutOfScopeLabel = "oos",
                });
                using var classifier = TrainedClassifier.Load(result.Model);
                var outOfScope = classifier.Evaluate(test).OutOfScope!;
                results.Add((name, outOfScope.InScopeAccuracy, outOfScope.OutOfScopeRecall));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name}\t{seed}\t{outOfScope.InScopeAccuracy * 100:F2}\t{outOfScope.OutOfScopeRecall * 100:F1}\t{result.EpochsRun}\t{clock.Elapsed.TotalSeconds:F1}"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| configuration | in-scope accuracy (median of {seeds.Length}) | oos recall (median) | runs (in-scope / oos) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var group in results.GroupBy(r => r.Name))
        {
            var inScope = group.Select(r => r.InScope * 100).Order().ToList();
            var recall = group.Select(r => r.Recall * 100).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key} | {Median(inScope):F2} % | {Median(recall):F1} % | {string.Join(", ", group.Select(r => $"{r.InScope * 100:F2} / {r.Recall * 100:F1}"))} |"));
        }

        return 0;
    }

    /// <summary>The middle value; the mean of the two middle ones for an even count.</summary>
    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
