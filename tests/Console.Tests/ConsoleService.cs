using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using TextClassification.TestSupport;

namespace TextClassification.Console.Tests;

/// <summary>
/// The real service on a real Kestrel port (a browser cannot reach WebApplicationFactory's in-memory server), with
/// SQLite in a temporary directory and a known bootstrap admin key, and one headless chromium for the test class.
/// </summary>
public sealed class ConsoleService : IAsyncLifetime
{
    public const string AdminKey = "tcs_ConsoleTestsAdminKey-0123456789abcdefghijklmn";

    private readonly TempDirectory _data = new("console-tests");
    private ServiceFactory _factory = null!;
    private IPlaywright _playwright = null!;

    /// <summary>Where the service listens, ending in a slash.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>A client that sends the admin key, for setting up what a test needs without the browser.</summary>
    public HttpClient AdminClient { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _factory = new ServiceFactory(_data.Path);
        _factory.UseKestrel(0);
        _factory.StartServer();
        string address = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        AdminClient = new HttpClient { BaseAddress = Address, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", AdminKey) } };

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            // The suite runs as root in CI, where chromium refuses its sandbox.
            Args = ["--no-sandbox"],
        });
    }

    /// <summary>
    /// A fresh browser context (its own session storage) at laptop size, with uncaught script errors and anything the
    /// Content-Security-Policy refused collected: a console that needs an inline script or style is broken under its
    /// own policy, and chromium says so only on its console.
    /// </summary>
    public async Task<(IPage Page, List<string> ScriptErrors)> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new() { BaseURL = Address.ToString(), ViewportSize = new() { Width = width, Height = height } });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                errors.Add(message.Text);
            }
        };
        return (page, errors);
    }

    /// <summary>Uploads a CSV of text and label through the API as the admin; returns the dataset's id.</summary>
    public async Task<string> UploadDatasetAsync(string name, string csv)
    {
        using var form = new MultipartFormDataContent { { new StringContent(csv), "file", name + ".csv" }, { new StringContent(name), "name" } };
        using var response = await AdminClient.PostAsync("/v1/datasets", form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (string)(await response.Content.ReadFromJsonAsync<JsonNode>())!["id"]!;
    }

    /// <summary>
    /// Debian's chromium (test.sh installs it when missing, looking for <c>chromium</c> on PATH as this does);
    /// <c>CONSOLE_TESTS_CHROMIUM</c> names another. Playwright never downloads a browser here, and no test is skipped
    /// without one: the class fails.
    /// </summary>
    private static string ChromiumPath()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(folder => new[] { Path.Combine(folder, "chromium"), Path.Combine(folder, "chromium-browser") });
        string[] candidates = [Environment.GetEnvironmentVariable("CONSOLE_TESTS_CHROMIUM") ?? string.Empty, "/usr/bin/chromium", "/usr/bin/chromium-browser", .. onPath];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("No chromium found: run ./test.sh (it installs Debian's chromium) or set CONSOLE_TESTS_CHROMIUM to a Chromium executable.");
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        AdminClient.Dispose();
        await _factory.DisposeAsync();
        _data.Dispose();
    }

    private sealed class ServiceFactory(string dataDirectory) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("Persistence:DataDirectory", dataDirectory);
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
            builder.UseSetting("Security:BootstrapAdminKey", AdminKey);
            builder.UseSetting("Security:RateLimit:PermitsPerSecond", "0");
        }
    }
}
