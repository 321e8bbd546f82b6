using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>
/// The real application, hosted in-process over its real pipeline, against a real database: SQLite in a temporary
/// data directory, or a database of its own in the suite's throwaway PostgreSQL cluster.
/// </summary>
public sealed class ServiceFactory(string dataDirectory, string? postgresConnectionString, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = dataDirectory;

    public string? PostgresConnectionString { get; } = postgresConnectionString;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Persistence:DataDirectory", DataDirectory);
        builder.UseSetting("Logging:Console:FormatterName", "simple");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
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
}
