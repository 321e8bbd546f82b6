using Xunit;

namespace TextClassification.TestSupport;

/// <summary>
/// One <see cref="PostgresCluster"/> for the tests that share it, started before the first and disposed after the last.
/// </summary>
/// <remarks>
/// xunit finds collection definitions only in the test assembly itself, so each test project that wants one cluster
/// for all its classes declares:
/// <code>
/// [CollectionDefinition(PostgresCollection.Name)]
/// public sealed class PostgresCollectionDefinition : ICollectionFixture&lt;PostgresClusterFixture&gt;;
/// </code>
/// and marks the classes <c>[Collection(PostgresCollection.Name)]</c>, each taking the fixture in its constructor and
/// creating its own database with <see cref="PostgresCluster.CreateDatabaseAsync"/>.
/// </remarks>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    /// <summary>The running cluster.</summary>
    public PostgresCluster Cluster =>
        _cluster ?? throw new InvalidOperationException("The cluster is started by xunit before the first test uses it.");

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>The name of the xunit collection whose tests share one <see cref="PostgresClusterFixture"/>.</summary>
public static class PostgresCollection
{
    public const string Name = "PostgreSQL cluster";
}
