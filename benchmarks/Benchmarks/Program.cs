using TextClassification.Benchmarks;

// Usage (from the repository root; see docs/benchmarks.md):
//   dotnet run -c Release --project benchmarks/Benchmarks -- training <Api.dll> <clinc150 dir> [architecture]
//       [--base-model minilm-l6] [--hyperparameters '{"epochs": 4}'] [--per-intent 10]
//   dotnet run -c Release --project benchmarks/Benchmarks -- serving <Api.dll> <clinc150 dir> [seconds per level]
//   dotnet run -c Release --project benchmarks/Benchmarks -- serving <Api.dll> <clinc150 dir> --minilm [seconds per level]
if (args.Length >= 3 && args[0] == "training")
{
    return await TrainingBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), args[3..]);
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

Console.Error.WriteLine("usage: training|serving <path to published TextClassification.Api.dll> <clinc150 directory> [architecture] [--base-model ID] [--hyperparameters JSON] [--per-intent N] | [--minilm] [seconds per level]");
return 2;
