using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Loop;

namespace TextClassification.Benchmarks;

/// <summary>
/// A hyperparameter sweep of the n-gram bag on CLINC150 through the API: learning rate, dropout, embedding size and
/// epochs, chosen on the validation split within a wall-time budget; then the best trial's registered model (and, on
/// request, a job with the default hyperparameters) scored once on the test split (in-scope accuracy with the out-of-scope
/// threshold, out-of-scope recall, arg-max in-scope accuracy).
/// </summary>
internal static class SweepBenchmark
{
    /// <param name="apiDll">The published service.</param>
    /// <param name="datasets">The CLINC150 folder.</param>
    /// <param name="options">
/// <c>--minutes N</c> (wall-time budget, default 20), <c>--method grid|random|tpe</c> (default tpe), <c>--seed N</c>
/// (default 7), <c>--max-trials N</c> (default 30), <c>--with-defaults</c> (also train the default hyperparameters in
/// the same service and score them beside the best trial; the training benchmark measures them otherwise).
/// </param>
    public static async Task<int> RunAsync(string apiDll, string datasets, IReadOnlyList<string> options)
    {
        int minutes = 20;
        string method = "tpe";
        int seed = 7;
        int maxTrials = 30;
        bool withDefaults = false;
        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case "--minutes": minutes = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--method": method = options[++i]; break;
                case "--seed": seed = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--max-trials": maxTrials = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--with-defaults": withDefaults = true; break;
                default: throw new ArgumentException($"Unknown option {options[i]}.");
            }
        }

        await using var service = await ServiceProcess.StartAsync(apiDll);
        using var client = service.CreateClient();
        string train = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "train.csv"));
        string validation = await TrainingBenchmark.UploadAsync(client, Path.Combine(datasets, "validation.csv"));

        var body = new JsonObject
        {
            ["job"] = new JsonObject
            {
                ["training_dataset_id"] = train,
                ["validation_dataset_id"] = validation,
                ["model"] = "clinc150-sweep",
                ["out_of_scope_label"] = "oos",
            },
            ["search_space"] = new JsonObject
            {
                ["learning_rate"] = new JsonObject { ["low"] = 0.003, ["high"] = 0.05, ["scale"] = "log" },
                ["dropout"] = new JsonObject { ["low"] = 0.0, ["high"] = 0.5 },
                ["embedding_dim"] = new JsonObject { ["low"] = 32, ["high"] = 128, ["scale"] = "log" },
                ["epochs"] = new JsonObject { ["low"] = 3, ["high"] = 12 },
            },
            ["method"] = method,
            ["objective"] = "validation_accuracy",
            ["max_trials"] = maxTrials,
            ["max_wall_time_seconds"] = minutes * 60,
            ["parallel_trials"] = 1,
            ["seed"] = seed,
            ["early_stopping"] = new JsonObject { ["min_epochs"] = 2, ["reduction_factor"] = 3 },
        };

        var clock = Stopwatch.StartNew();
        var created = await TrainingBenchmark.PostJsonAsync(client, "/v1/fine-tuning/sweeps", body);
        string sweepId = (string)created["id"]!;
        JsonNode sweep;
        int shown = 0;
        do
        {
            await Task.Delay(2000);
            sweep = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/sweeps/{sweepId}"))!;
            var ended = sweep["trials"]!.AsArray().Where(t => (string)t!["state"]! != "running").ToList();
            foreach (var trial in ended.Skip(shown))
            {
                Console.Error.WriteLine($"[{clock.Elapsed.TotalMinutes:F1} min] trial {trial!["number"]}: {trial["state"]} {trial["objective"]} {trial["parameters"]!.ToJsonString()}");
            }

            shown = Math.Max(shown, ended.Count);
        }
        while ((string)sweep["status"]! == "running");

        double sweepSeconds = clock.Elapsed.TotalSeconds;
        if ((string)sweep["status"]! != "succeeded")
        {
            Console.Error.WriteLine(sweep.ToJsonString());
            return 1;
        }

        var test = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        var best = sweep["best_trial"]!;
        var bestJob = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{best["job_id"]}"))!;
        var trials = sweep["trials"]!.AsArray();

        Console.WriteLine($"sweep                   {sweepId}: {method}, seed {seed}, budget {maxTrials} trials / {minutes} min (no trial starts after it), parallel 1, successive halving from epoch 2 (eta 3)");
        Console.WriteLine($"sweep wall time (s)     {sweepSeconds:F0}   ({sweep["end_reason"]})");
        Console.WriteLine($"trials                  {trials.Count}: {Count("succeeded")} succeeded, {Count("pruned")} pruned, {Count("failed")} failed");
        Console.WriteLine();
        Console.WriteLine("| trial | learning_rate | dropout | embedding_dim | epochs | state | epochs run | validation accuracy | seconds |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var trial in trials)
        {
            var p = trial!["parameters"]!;
            Console.WriteLine($"| {trial["number"]} | {(double)p["learning_rate"]!:0.#####} | {(double)p["dropout"]!:0.###} | {p["embedding_dim"]} | {p["epochs"]} | {trial["state"]} | {trial["epochs"]} | {((double?)trial["objective"])?.ToString("P2", CultureInfo.InvariantCulture) ?? "-"} | {trial["seconds"]} |");
        }

        Console.WriteLine();
        Console.WriteLine("| configuration | hyperparameters | validation accuracy | test in-scope accuracy | test oos recall | test in-scope arg-max |");
        Console.WriteLine("|---|---|---|---|---|---|");
        await ScoreAsync(service, "clinc150-sweep", bestJob, test, $"best trial ({best["number"]})");
        if (withDefaults)
        {
            // The defaults, trained in the same service on the same data, for comparison.
            var defaults = await TrainingBenchmark.PostJsonAsync(client, "/v1/fine-tuning/jobs", new JsonObject
            {
                ["training_dataset_id"] = train,
                ["validation_dataset_id"] = validation,
                ["model"] = "clinc150-defaults",
                ["out_of_scope_label"] = "oos",
            });
            JsonNode defaultsJob;
            do
            {
                await Task.Delay(1000);
                defaultsJob = JsonNode.Parse(await client.GetStringAsync($"/v1/fine-tuning/jobs/{defaults["id"]}"))!;
            }
            while ((string)defaultsJob["status"]! is "queued" or "running");

            await ScoreAsync(service, "clinc150-defaults", defaultsJob, test, "defaults");
        }

        return 0;

        int Count(string state) => trials.Count(t => (string)t!["state"]! == state);
    }

    private static async Task ScoreAsync(ServiceProcess service, string model, JsonNode job, List<TextClassification.Training.Data.LabelledText> test, string name)
    {
        string checkpointPath = Directory.GetFiles(Path.Combine(service.DataDirectory, "artifacts", "models", model), $"{job["id"]}.ckpt").Single();
        var (report, argMax) = await TrainingBenchmark.ScoreOnTestAsync(checkpointPath, test);
        var h = job["hyperparameters"]!;
        string hyperparameters = $"lr {(double)h["learning_rate"]!:0.#####}, dropout {(double)h["dropout"]!:0.###}, embedding {h["embedding_dim"]?.ToJsonString() ?? "96"}, epochs {h["epochs"]}";
        double? validationAccuracy = (double?)job["evaluation"]?["accuracy"];
        Console.WriteLine($"| {name} | {hyperparameters} | {validationAccuracy?.ToString("P2", CultureInfo.InvariantCulture) ?? "-"} | {report.OutOfScope?.InScopeAccuracy:P2} | {report.OutOfScope?.OutOfScopeRecall:P2} | {argMax.Accuracy:P2} |");
    }
}
