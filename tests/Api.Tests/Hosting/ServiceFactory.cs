using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>
/// The real application, hosted in-process over its real pipeline, against a real database: SQLite in a temporary
/// data directory, or a database of its own in the suite's throwaway PostgreSQL cluster. The service starts with
/// <see cref="AdminKey"/> as its bootstrap admin key, and every client this factory creates sends it, so tests that
/// are not about security need not think about keys; a test that needs no key, or another one, sets its own headers.
/// </summary>
public sealed class ServiceFactory(string dataDirectory, string? postgresConnectionString, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    /// <summary>The admin key the service under test is bootstrapped with (<c>Security:BootstrapAdminKey</c>).</summary>
    public const string AdminKey = "tcs_TestSuiteAdminKey-0123456789abcdefghijklmnopq";

    public string DataDirectory { get; } = dataDirectory;

    public string? PostgresConnectionString { get; } = postgresConnectionString;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Persistence:DataDirectory", DataDirectory);
        builder.UseSetting("Logging:Console:FormatterName", "simple");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Security:BootstrapAdminKey", AdminKey);
        // Tests drive the service much harder than one client would; the rate-limit tests turn the limit back on.
        builder.UseSetting("Security:RateLimit:PermitsPerSecond", "0");
        builder.UseSetting("Security:RateLimit:AnonymousPermitsPerSecond", "0");
        // A training child process costs seconds to start, and the suite trains hundreds of small jobs: in-process
        // hosts train in process. The child process, the default, is tested by TrainingProcessTests and by every
        // test that runs the service as a process of its own (ServiceProcess).
        builder.UseSetting("Jobs:TrainingProcess:Isolation", "InProcess");
        if (PostgresConnectionString is not null)
        {
            builder.UseSetting("Persistence:Provider", "PostgreSql");
            builder.UseSetting("Persistence:ConnectionString", PostgresConnectionString);
            builder.UseSetting("Jobs:HangfireSchema", "hangfire");
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }
}
