using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>What a test class needs to talk to one running service: its client and where it keeps its files.</summary>
public abstract class ServiceFixture : IAsyncLifetime
{
    private readonly TempDirectory _dataDirectory = new();

    public ServiceFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string DataDirectory => _dataDirectory.Path;

    public abstract string ProviderName { get; }

    public async Task InitializeAsync()
    {
        Factory = new ServiceFactory(_dataDirectory.Path, await CreateDatabaseAsync());
        Client = Factory.CreateClient();
    }

    /// <summary>Starts a second instance of the service over the same database and files, as a restart would.</summary>
    public ServiceFactory Restart(IReadOnlyDictionary<string, string?>? settings = null) =>
        new(_dataDirectory.Path, Factory.PostgresConnectionString, settings);

    protected abstract Task<string?> CreateDatabaseAsync();

    public virtual async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        _dataDirectory.Dispose();
    }
}

/// <summary>The embedded default: SQLite under the temporary data directory.</summary>
public sealed class SqliteServiceFixture : ServiceFixture
{
    public override string ProviderName => "sqlite";

    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

/// <summary>A fresh database in the suite's PostgreSQL cluster.</summary>
public sealed class PostgresServiceFixture : ServiceFixture
{
    public override string ProviderName => "postgresql";

    protected override async Task<string?> CreateDatabaseAsync() =>
        await (await SharedPostgres.GetAsync()).CreateDatabaseAsync("api");
}

/// <summary>
/// One throwaway PostgreSQL cluster for the whole test run, started on first use and removed when the process ends;
/// every fixture gets a database of its own in it.
/// </summary>
public static class SharedPostgres
{
    private static readonly Lazy<Task<PostgresCluster>> Cluster = new(StartAsync);

    public static Task<PostgresCluster> GetAsync() => Cluster.Value;

    private static async Task<PostgresCluster> StartAsync()
    {
        var cluster = await PostgresCluster.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return cluster;
    }
}
