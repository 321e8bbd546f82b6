using System.Diagnostics;
using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TextClassification.Benchmarks;

/// <summary>
/// The real service in a process of its own (the published Release build), on a loopback port and a fresh data
/// directory, so a benchmark measures what a client would see through HTTP and can read the process's memory. It
/// starts with a fresh admin key of the benchmark's own (<see cref="AdminKey"/>), which it gives a rate limit of a
/// million requests a second (<c>PATCH /v1/api-keys/{id}</c>): a benchmark sends tens of thousands of requests a
/// second with one key, beyond the default per-key limit, yet every request still passes through the limiter.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TextWriter _log;
    private readonly string _dataDirectory;
    private readonly bool _ownsDataDirectory;

    private ServiceProcess(Process process, TextWriter log, string dataDirectory, bool ownsDataDirectory, Uri address)
    {
        _process = process;
        _log = log;
        _dataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The admin key the service was bootstrapped with; every request the benchmark makes carries it.</summary>
    public string AdminKey { get; private init; } = string.Empty;

    /// <summary>The service's data directory (its SQLite file and artifacts).</summary>
    public string DataDirectory => _dataDirectory;

    public int ProcessId => _process.Id;

    /// <param name="apiDll">The published service.</param>
    /// <param name="settings">Configuration overrides, as <c>Section:Key</c>.</param>
    /// <param name="sharedDataDirectory">
    /// Another instance's data directory, to run a second configuration over the same models; left in place on dispose.
    /// </param>
    /// <param name="olderBuild">
    /// A build from before keys had limits of their own (a baseline to compare against): rate limiting is turned off
    /// with <c>Security:RateLimit:PermitsPerSecond=0</c> instead.
    /// </param>
    public static async Task<ServiceProcess> StartAsync(
        string apiDll, IReadOnlyDictionary<string, string>? settings = null, string? sharedDataDirectory = null, bool olderBuild = false)
    {
        int port = FreePort();
        string dataDirectory = sharedDataDirectory ?? Directory.CreateTempSubdirectory("benchmark-service-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { apiDll, "--urls", $"http://127.0.0.1:{port}" },
            WorkingDirectory = Path.GetDirectoryName(apiDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["Persistence__DataDirectory"] = dataDirectory;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // The training child processes' own lines (a failed job's stack among them) reach the service's log this way.
        start.Environment["Logging__LogLevel__TextClassification.Training.Jobs.TrainingProcess"] = "Information";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // A second instance over the same data is given the first one's key: the database already holds it.
        string adminKey = settings?.GetValueOrDefault("Security:BootstrapAdminKey") ?? "tcs_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        start.Environment["Security__BootstrapAdminKey"] = adminKey;
        if (olderBuild)
        {
            start.Environment["Security__RateLimit__PermitsPerSecond"] = "0";
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        // Everything the service prints is kept, so that a failed job can be read about after the run; the path is
        // printed first, and the file outlives the run's temporary data directory.
        string logPath = Path.Combine(Path.GetTempPath(), "benchmark-service-logs", $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{port}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = TextWriter.Synchronized(new StreamWriter(logPath) { AutoFlush = true });
        Console.Error.WriteLine($"[service] log: {logPath}");
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.WriteLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.WriteLine(e.Data);
                Console.Error.WriteLine($"[service] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var address = new Uri($"http://127.0.0.1:{port}");
        using var client = new HttpClient { BaseAddress = address };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    var service = new ServiceProcess(process, log, dataDirectory, sharedDataDirectory is null, address) { AdminKey = adminKey };
                    if (!olderBuild)
                    {
                        await service.RaiseRateLimitAsync();
                    }

                    return service;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        await log.DisposeAsync();
        throw new InvalidOperationException($"The service did not become ready within 60 s; its output is in {logPath}.");
    }

    private async Task RaiseRateLimitAsync()
    {
        using var client = CreateClient();
        string id = (string)System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("/v1/api-keys/current"))!["id"]!;
        using var body = new StringContent("""{"rate_limit": {"requests_per_second": 1000000, "burst": 10000000}}""", System.Text.Encoding.UTF8, "application/json");
        (await client.PatchAsync($"/v1/api-keys/{id}", body)).EnsureSuccessStatusCode();
    }

    /// <summary>A client of the service that sends <see cref="AdminKey"/>.</summary>
    public HttpClient CreateClient() => new()
    {
        BaseAddress = Address,
        Timeout = TimeSpan.FromMinutes(30),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", AdminKey) },
    };

    /// <summary>The process's peak resident memory (VmHWM), in MiB.</summary>
    public double PeakResidentMiB() => ReadStatusKb("VmHWM") / 1024.0;

    public double ResidentMiB() => ReadStatusKb("VmRSS") / 1024.0;

    private long ReadStatusKb(string field)
    {
        foreach (string line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        // Also waits for the end of its output, so that nothing is written to the log after it is closed.
        await _process.WaitForExitAsync();
        _process.Dispose();
        await _log.DisposeAsync();
        if (!_ownsDataDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
