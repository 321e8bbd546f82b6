using TextClassification.Benchmarks;

// Usage (from the repository root; see docs/benchmarks.md):
//   dotnet run -c Release --project benchmarks/Benchmarks -- training <Api.dll> <clinc150 dir> [architecture]
if (args.Length >= 3 && args[0] == "training")
{
    return await TrainingBenchmark.RunAsync(Path.GetFullPath(args[1]), Path.GetFullPath(args[2]), args.Length > 3 ? args[3] : null);
}

Console.Error.WriteLine("usage: training <path to published TextClassification.Api.dll> <clinc150 directory> [architecture]");
return 2;
