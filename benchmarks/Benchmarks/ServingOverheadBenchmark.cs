using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static TextClassification.Benchmarks.EncoderServingBenchmark;
using static TextClassification.Benchmarks.ServingBenchmark;

namespace TextClassification.Benchmarks;

/// <summary>
/// What the service costs per request beyond the floor (issue 13): <c>/v1</c> predict and <c>/v2</c> infer on the
/// CLINC150 n-gram bag, with the admin key on every request, beside <see cref="FloorServer"/> answering the same
/// bodies, at concurrency 1, 16 and 64 with wrk. The four cases take turns at each concurrency, for several rounds,
/// so that load from elsewhere falls on all of them alike; the table gives each case's median over the rounds and
/// the ratio of the service's median throughput to the floor's. Then, with dotnet-counters when it is installed,
/// bytes allocated per request by each process at concurrency 16.
/// </summary>
internal static class ServingOverheadBenchmark
{
    private const string Model = "clinc150";
    private static readonly int[] Concurrency = [1, 16, 64];

    /// <param name="Script">The wrk script that cycles through 1,000 test texts.</param>
    /// <param name="Path">The path hey posts <paramref name="Body"/> to.</param>
    /// <param name="Body">A file holding the one body hey sends (hey cannot vary it).</param>
    private sealed record Case(string Name, Uri Address, string Script, string Path, string Body);

    /// <param name="loadGenerator"><c>wrk</c> (C, light) or <c>hey</c> (Go, heavier: the generator the issue's figures came from).</param>
    /// <param name="baselineDll">An older build to measure beside this one (its own process, data and model), or null.</param>
    public static async Task<int> RunAsync(string apiDll, string datasets, int seconds, int rounds, string loadGenerator, string? baselineDll)
    {
        await using var service = await ServiceProcess.StartAsync(apiDll);
        using var client = service.CreateClient();
        int version = await TrainAsync(client, datasets, Model);
        await using var baseline = baselineDll is null ? null : await ServiceProcess.StartAsync(baselineDll, olderBuild: true);
        if (baseline is not null)
        {
            using var baselineClient = baseline.CreateClient();
            await TrainAsync(baselineClient, datasets, Model);
        }

        var metadata = JsonNode.Parse(await client.GetStringAsync($"/v2/models/{Model}/versions/{version}"))!;
        int labels = metadata["parameters"]!["labels"]!.AsArray().Count;
        await using var floor = await FloorProcess.StartAsync(labels);

        var texts = (await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"))).Select(r => r.Text).Take(1000).ToList();
        string v1 = WriteWrkScript(texts, service.AdminKey, Model);
        string v2 = WriteInferScript(texts, service.AdminKey, Model);
        string v1Body = Path.GetTempFileName();
        await File.WriteAllTextAsync(v1Body, JsonSerializer.Serialize(new { inputs = new[] { texts[0] }, top_k = 1 }));
        string v2Body = Path.GetTempFileName();
        await File.WriteAllTextAsync(v2Body, JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", shape = new[] { 1 }, datatype = "BYTES", data = new[] { texts[0] } } } }));
        string v1Path = $"/v1/models/{Model}/predict";
        string v2Path = $"/v2/models/{Model}/infer";
        List<Case> cases =
        [
            new("floor /v1", floor.Address, v1, v1Path, v1Body),
            new("service /v1 predict", service.Address, v1, v1Path, v1Body),
            new("floor /v2", floor.Address, v2, v2Path, v2Body),
            new("service /v2 infer", service.Address, v2, v2Path, v2Body),
        ];
        var keys = new Dictionary<Uri, string> { [service.Address] = service.AdminKey, [floor.Address] = service.AdminKey };
        if (baseline is not null)
        {
            // The same texts with the baseline's own key: the scripts carry the key, so they are written again.
            string baselineV1 = WriteWrkScript(texts, baseline.AdminKey, Model);
            string baselineV2 = WriteInferScript(texts, baseline.AdminKey, Model);
            cases.Insert(2, new("before /v1 predict", baseline.Address, baselineV1, v1Path, v1Body));
            cases.Add(new("before /v2 infer", baseline.Address, baselineV2, v2Path, v2Body));
            keys[baseline.Address] = baseline.AdminKey;
        }

        Func<Case, int, int, Task<WrkResult>> load = loadGenerator == "hey"
            ? (c, connections, s) => HeyAsync(c, keys[c.Address], connections, s)
            : (c, connections, s) => WrkAsync(c.Address, c.Script, connections, s);

        Console.WriteLine($"model                   {Model}:{version} ({labels} labels), one CLINC150 test text per request, X-Api-Key on every request");
        Console.WriteLine($"machine                 {Environment.ProcessorCount} cores; {loadGenerator} on the same machine (loopback); load {LoadAverage()}");
        Console.WriteLine(loadGenerator == "hey"
            ? $"load generator          hey, one body per case (\"{texts[0]}\")"
            : "load generator          wrk, cycling through 1,000 CLINC150 test texts");
        Console.WriteLine($"method                  every case warmed for 20 s at concurrency 64 (the JIT's tiers settle after ~150k requests); then {rounds} rounds;");
        Console.WriteLine($"                        in each, at each concurrency, every case in turn (reversed in odd rounds) for 3 s warm-up + {seconds} s; medians over the rounds");
        foreach (var @case in cases)
        {
            await load(@case, 64, 20);
        }

        var results = cases.ToDictionary(c => c.Name, _ => Concurrency.ToDictionary(c => c, _ => new List<WrkResult>()));
        for (int round = 0; round < rounds; round++)
        {
            foreach (int c in Concurrency)
            {
                // Every other round in reverse order: a case's place in the turn (after which case, how long since the
                // warm-up) falls on each case alike.
                foreach (var @case in round % 2 == 0 ? cases : Enumerable.Reverse(cases))
                {
                    await load(@case, c, 3);
                    results[@case.Name][c].Add(await load(@case, c, seconds));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| case | concurrency | requests/s (median) | p50 | p99 | of the floor | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (int c in Concurrency)
        {
            foreach (var @case in cases)
            {
                var runs = results[@case.Name][c];
                string floorName = @case.Name.Contains("/v1", StringComparison.Ordinal) ? "floor /v1" : "floor /v2";
                double perSecond = Median(runs.Select(r => r.PerSecond));
                double ratio = perSecond / Median(results[floorName][c].Select(r => r.PerSecond));
                long errors = runs.Sum(r => r.Errors);
                Console.WriteLine($"| {@case.Name} | {c} | {perSecond:F0} | {Ms(Median(runs.Select(r => r.P50)))} | {Ms(Median(runs.Select(r => r.P99)))} | {(@case.Name.StartsWith("floor", StringComparison.Ordinal) ? "—" : ratio.ToString("P0", CultureInfo.InvariantCulture))} | {errors} in {runs.Sum(r => r.Requests)} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"load at the end         {LoadAverage()}");
        if (!OnPath("dotnet-counters"))
        {
            Console.WriteLine("allocations             not measured: install dotnet-counters (dotnet tool install -g dotnet-counters)");
            return 0;
        }

        Console.WriteLine();
        Console.WriteLine("| case | bytes allocated per request (concurrency 16) |");
        Console.WriteLine("|---|---|");
        foreach (var @case in cases)
        {
            int pid = @case.Address == service.Address ? service.ProcessId : @case.Address == floor.Address ? floor.ProcessId : baseline!.ProcessId;
            double perRequest = await AllocatedPerRequestAsync(pid, @case, seconds, load);
            Console.WriteLine($"| {@case.Name} | {perRequest:F0} |");
        }

        return 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static bool OnPath(string program) => Locate(program) is not null;

    /// <summary>A program on PATH, or among the .NET global tools (~/.dotnet/tools, where dotnet-counters installs).</summary>
    private static string? Locate(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools"))
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>hey for <paramref name="seconds"/> (no warm-up of its own), parsed into wrk's figures.</summary>
    private static async Task<WrkResult> HeyAsync(Case @case, string key, int connections, int seconds)
    {
        var start = new ProcessStartInfo("hey")
        {
            ArgumentList =
            {
                "-z", $"{seconds}s", "-c", connections.ToString(CultureInfo.InvariantCulture), "-m", "POST",
                "-H", $"X-Api-Key: {key}", "-T", "application/json", "-D", @case.Body, new Uri(@case.Address, @case.Path).ToString(),
            },
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("hey did not start; install it with `apt-get install hey`.");
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        double perSecond = double.Parse(Regex.Match(output, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        double Percentile(string percent) => double.Parse(Regex.Match(output, $@"\s{percent}% in ([\d.]+) secs").Groups[1].Value, CultureInfo.InvariantCulture);
        long ok = Regex.Matches(output, @"\[(\d{3})\]\s+(\d+) responses").Sum(m => m.Groups[1].Value == "200" ? long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0);
        long all = Regex.Matches(output, @"\[(\d{3})\]\s+(\d+) responses").Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        var errors = Regex.Match(output, @"Error distribution:([\s\S]*)$");
        long failed = all - ok + (errors.Success ? Regex.Matches(errors.Groups[1].Value, @"\[(\d+)\]").Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) : 0);
        return new WrkResult(perSecond, Percentile("50"), Percentile("99"), all, failed);
    }

    /// <summary>
    /// The process's allocation rate over a wrk run (dotnet-counters, <c>System.Runtime</c>'s
    /// <c>dotnet.gc.heap.total_allocated</c>), divided by the requests it answered in the same seconds.
    /// </summary>
    private static async Task<double> AllocatedPerRequestAsync(int pid, Case @case, int seconds, Func<Case, int, int, Task<WrkResult>> load)
    {
        string csv = Path.Combine(Path.GetTempPath(), $"counters-{Environment.ProcessId}-{pid}.csv");
        File.Delete(csv);
        var counters = Process.Start(new ProcessStartInfo(Locate("dotnet-counters")!)
        {
            ArgumentList = { "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--counters", "System.Runtime", "--refresh-interval", "1", "--format", "csv", "-o", csv },
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        })!;
        await Task.Delay(1500);
        var result = await load(@case, 16, seconds);
        counters.Kill();
        await counters.WaitForExitAsync();

        // Rates (bytes per second) reported once a second; the median second over the run, against wrk's requests/s.
        // A run of a second or two can end before dotnet-counters has written its file: no figure then.
        if (!File.Exists(csv))
        {
            return double.NaN;
        }

        var rates = File.ReadLines(csv)
            .Select(line => line.Split(','))
            .Where(f => f.Length >= 5 && f[2].Contains("total_allocated", StringComparison.Ordinal))
            .Select(f => double.Parse(f[^1], CultureInfo.InvariantCulture))
            .Where(v => v > 0)
            .ToList();
        return rates.Count == 0 ? double.NaN : Median(rates) / result.PerSecond;
    }

    /// <summary>A wrk script that sends one text per request to <c>/v2</c> infer, all outputs, cycling through <paramref name="texts"/>.</summary>
    private static string WriteInferScript(IReadOnlyList<string> texts, string key, string model) =>
        WriteWrkScript(texts, key, $"/v2/models/{model}/infer", text => new { inputs = new[] { new { name = "text", shape = new[] { 1 }, datatype = "BYTES", data = new[] { text } } } });

    /// <summary><see cref="FloorServer"/> in a child process: this benchmark's own executable with <c>floor</c>.</summary>
    private sealed class FloorProcess(Process process, Uri address) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public int ProcessId => process.Id;

        public static async Task<FloorProcess> StartAsync(int labels)
        {
            int port = ServiceProcess.FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { typeof(FloorServer).Assembly.Location, "floor", port.ToString(CultureInfo.InvariantCulture), labels.ToString(CultureInfo.InvariantCulture) },
            };
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            var floor = new FloorProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
            using var client = new HttpClient { BaseAddress = floor.Address };
            for (int attempt = 0; attempt < 100; attempt++)
            {
                try
                {
                    if ((await client.GetAsync("/ready")).IsSuccessStatusCode)
                    {
                        return floor;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(200);
            }

            await floor.DisposeAsync();
            throw new InvalidOperationException("The floor server did not start within 20 s.");
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }
}
