using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>
/// The service as a separate operating-system process (the build output of src/Api), for faults that an in-process
/// host cannot show: a worker killed with SIGKILL leaves no chance to clean up.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private ServiceProcess(Process process, Uri address, ConcurrentQueue<string> output)
    {
        _process = process;
        Address = address;
        _output = output;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    /// <summary>The lines the process has written to stdout so far.</summary>
    public IReadOnlyList<string> StandardOutput => [.. _output];

    /// <param name="dataDirectory">The service's data directory.</param>
    /// <param name="settings">Configuration overrides as <c>Section:Key</c>; they win over the defaults set here.</param>
    /// <param name="postgresConnectionString">A PostgreSQL database to run on, as <see cref="ServiceFactory"/> does; null for SQLite in the data directory.</param>
    public static async Task<ServiceProcess> StartAsync(
        string dataDirectory, IReadOnlyDictionary<string, string?>? settings = null, string? postgresConnectionString = null)
    {
        // tests/Api.Tests/bin/<configuration>/<framework>/ → src/Api/bin/<configuration>/<framework>/
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string apiDll = Path.Combine(RepositoryPaths.Root, "src", "Api", "bin", output.Parent!.Name, output.Name, "TextClassification.Api.dll");
        Assert.True(File.Exists(apiDll), $"The service build output is missing: {apiDll}");

        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { apiDll, "--urls", $"http://127.0.0.1:{port}" },
            WorkingDirectory = Path.GetDirectoryName(apiDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["Persistence__DataDirectory"] = dataDirectory;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["Security__BootstrapAdminKey"] = ServiceFactory.AdminKey;
        start.Environment["Security__RateLimit__PermitsPerSecond"] = "0";
        start.Environment["Security__RateLimit__AnonymousPermitsPerSecond"] = "0";
        if (postgresConnectionString is not null)
        {
            start.Environment["Persistence__Provider"] = "PostgreSql";
            start.Environment["Persistence__ConnectionString"] = postgresConnectionString;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var lines = new ConcurrentQueue<string>();
        var process = Process.Start(start)!;
        try
        {
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lines.Enqueue(e.Data);
                }
            };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var address = new Uri($"http://127.0.0.1:{port}");
            // A readiness probe that hangs (a process still starting on a busy machine) is given up and tried again.
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    using var response = await client.GetAsync("/health/ready");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return new ServiceProcess(process, address, lines);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }

                await Task.Delay(100);
            }

            throw new InvalidOperationException(process.HasExited
                ? $"The service process exited with code {process.ExitCode} before it became ready."
                : "The service process did not become ready within 60 s.");
        }
        catch
        {
            // Whatever went wrong, the child must not outlive the failed start.
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
            throw;
        }
    }

    /// <summary>A client that sends the bootstrap admin key, like the clients of <see cref="ServiceFactory"/>.</summary>
    public HttpClient CreateClient() => new()
    {
        BaseAddress = Address,
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", ServiceFactory.AdminKey) },
    };

    /// <summary>
    /// SIGKILL: the process ends at once, with no shutdown of any kind; with <paramref name="entireProcessTree"/>, its
    /// training child process too (a machine that dies takes both), else the child is left to notice by itself.
    /// </summary>
    public async Task KillAsync(bool entireProcessTree = true)
    {
        _process.Kill(entireProcessTree);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }
}
