using TextClassification.Benchmarks;

// Usage (from the repository root; see docs/benchmarks.md):
//   dotnet run -c Release --project benchmarks/Benchmarks -- training <Api.dll> <clinc150 dir> [architecture]
//       [--base-model minilm-l6] [--hyperparameters '{"epochs": 4}'] [--per-intent 10]
//   dotnet run -c Release --project benchmarks/Benchmarks -- augmentation <clinc150 dir> [--per-intent 10] [--seeds 1,2,3] [--configs "none;typos"]
//   dotnet run -c Release --project benchmarks/Benchmarks -- distillation <Api.dll> <clinc150 dir> [--data-directory DIR --admin-key KEY]
//       [--teacher NAME:VERSION | --teacher-hyperparameters JSON] [--student JSON]... [--no-plain] [--serving-seconds N]
//   dotnet run -c Release --project benchmarks/Benchmarks -- distillation-score <clinc150 dir> <checkpoint>...
//   dotnet run -c Release --project benchmarks/Benchmarks -- ensemble-score <clinc150 dir> <checkpoint>...
//   dotnet run -c Release --project benchmarks/Benchmarks -- session-options <model.onnx> <clinc150 dir> [rounds]
//   dotnet run -c Release --project benchmarks/Benchmarks -- sweep <Api.dll> <clinc150 dir> [--minutes 20] [--method tpe] [--seed 7] [--max-trials 30] [--with-defaults]
//   dotnet run -c Release --project benchmarks/Benchmarks -- serving <Api.dll> <clinc150 dir> [seconds per level]
//   dotnet run -c Release --project benchmarks/Benchmarks -- serving <Api.dll> <clinc150 dir> --minilm [seconds per level]
//   dotnet run -c Release --project benchmarks/Benchmarks -- serving <Api.dll> <clinc150 dir> --overhead [--hey] [--baseline <older Api.dll>] [seconds per level] [rounds]
if (args.Length >= 3 && args[0] == "sweep")
{
    return await SweepBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), args[3..]);
}

if (args.Length >= 3 && args[0] == "training")
{
    return await TrainingBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), args[3..]);
}

if (args.Length >= 2 && args[0] == "augmentation")
{
    return await AugmentationBenchmark.RunAsync(Path.GetFullPath(args[1]), args[2..]);
}

if (args.Length >= 3 && args[0] == "session-options")
{
    return await SessionOptionsBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 9);
}

if (args.Length >= 3 && args[0] == "ensemble-score")
{
    return await EnsembleScore.RunAsync(Path.GetFullPath(args[1]), args[2..].Select(Path.GetFullPath).ToList());
}

if (args.Length >= 3 && args[0] == "distillation-score")
{
    return await DistillationBenchmark.ScoreCheckpointsAsync(Path.GetFullPath(args[1]), args[2..].Select(Path.GetFullPath).ToList());
}

if (args.Length >= 3 && args[0] == "distillation")
{
    return await DistillationBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), args[3..]);
}

if (args.Length == 3 && args[0] == "floor")
{
    return await FloorServer.RunAsync(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
}

if (args.Length >= 3 && args[0] == "serving" && args.Skip(3).Contains("--overhead"))
{
    string generator = args.Contains("--hey") ? "hey" : "wrk";
    int baselineAt = Array.IndexOf(args, "--baseline");
    string? baseline = baselineAt > 0 && baselineAt + 1 < args.Length ? Path.GetFullPath(args[baselineAt + 1]) : null;
    var numbers = args.Skip(3).Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && i + 3 != baselineAt + 1)
        .Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    return await ServingOverheadBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), numbers.ElementAtOrDefault(0) is > 0 and var s ? s : 5,
        numbers.ElementAtOrDefault(1) is > 0 and var r ? r : 3, generator, baseline);
}

if (args.Length >= 3 && args[0] == "serving")
{
    bool encoder = args.Skip(3).Contains("--minilm");
    string? seconds = args.Skip(3).FirstOrDefault(a => a != "--minilm");
    int perLevel = seconds is null ? (encoder ? 5 : 15) : int.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture);
    return encoder
        ? await EncoderServingBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), perLevel)
        : await ServingBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), perLevel);
}

Console.Error.WriteLine("usage: augmentation <clinc150 directory> [--per-intent N] [--seeds 1,2,3] [--configs \"none;typos\"] | training|sweep|serving <path to published TextClassification.Api.dll> <clinc150 directory> [architecture] [--base-model ID] [--hyperparameters JSON] [--per-intent N] | [--minilm | --overhead [--hey]] [seconds per level] [rounds]");
return 2;
