using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>The console log as a developer reads it (<c>dotnet run</c>: the Development settings over the base ones).</summary>
public sealed class ConsoleLogFormatTests
{
    [Fact]
    public void The_development_console_log_separates_the_timestamp_from_the_level()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepositoryPaths.Root, "src", "Api", "appsettings.json"))
            .AddJsonFile(Path.Combine(RepositoryPaths.Root, "src", "Api", "appsettings.Development.json"))
            .Build();
        Assert.Equal("simple", configuration["Logging:Console:FormatterName"]);
        using var provider = new ServiceCollection()
            .AddLogging(logging => logging.AddConfiguration(configuration.GetSection("Logging")).AddConsole())
            .BuildServiceProvider();
        var formatter = provider.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Simple);

        using var line = new StringWriter();
        var entry = new LogEntry<string>(LogLevel.Information, "TextClassification.Api", new EventId(1), "started", null, (state, _) => state);
        formatter.Write(entry, new LoggerExternalScopeProvider(), line);

        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: TextClassification\.Api\[1\]", line.ToString());
    }
}
