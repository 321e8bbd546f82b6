using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Security;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Security;

/// <summary>
/// Several API processes starting at once on an empty database must register exactly one bootstrap admin key: two
/// printed keys would leave the operator holding a key nobody knows is there.
/// </summary>
public abstract class BootstrapKeyConcurrencyTests : IDisposable
{
    private readonly TempDirectory _data = new("bootstrap-race");

    public void Dispose() => _data.Dispose();

    /// <summary>A fresh, empty database: null for SQLite (its file lives in the data directory).</summary>
    protected abstract Task<string?> CreateDatabaseAsync();

    [Fact]
    public async Task Four_api_hosts_starting_at_once_on_an_empty_database_register_exactly_one_admin_key()
    {
        string? database = await CreateDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["Security:BootstrapAdminKey"] = string.Empty, ["Jobs:Role"] = "Api" };
        var hosts = Enumerable.Range(0, 4).Select(_ => new ServiceFactory(_data.Path, database, settings)).ToList();
        try
        {
            // Resolving Services builds and starts the host: migrations, then the bootstrap.
            await Task.WhenAll(hosts.Select(h => Task.Run(() => h.Services)));

            await using var scope = hosts[0].Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            Assert.Equal(1, await db.ApiKeys.CountAsync());
            Assert.Equal(1, await db.AuditEntries.CountAsync(e => e.Action == AuditLog.Actions.ApiKeyCreate));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Of_sixteen_bootstraps_released_at_once_exactly_one_registers_a_key_and_gets_its_secret()
    {
        var options = new PersistenceOptions { DataDirectory = _data.Path };
        if (await CreateDatabaseAsync() is { } connectionString)
        {
            options.Provider = DatabaseProvider.PostgreSql;
            options.ConnectionString = connectionString;
        }

        await using (var migrating = NewContext(options))
        {
            await migrating.Database.MigrateAsync();
        }

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = Enumerable.Range(0, 16).Select(async _ =>
        {
            await using var db = NewContext(options);
            await db.Database.OpenConnectionAsync();
            await release.Task;
            return await ApiKeyBootstrapService.TryRegisterAsync(db, configured: null, TimeProvider.System, CancellationToken.None);
        }).ToList();
        release.SetResult();
        var results = await Task.WhenAll(attempts);

        var registered = Assert.Single(results, r => r is not null);
        await using var check = NewContext(options);
        var key = Assert.Single(await check.ApiKeys.ToListAsync());
        Assert.Equal(registered!.Value.Row.Id, key.Id);
        Assert.Equal(1, await check.AuditEntries.CountAsync());
    }

    private static ServiceDbContext NewContext(PersistenceOptions options)
    {
        if (options.Provider == DatabaseProvider.PostgreSql)
        {
            var builder = new DbContextOptionsBuilder<PostgresServiceDbContext>();
            PersistenceServiceCollectionExtensions.Configure(builder, options);
            return new PostgresServiceDbContext(builder.Options);
        }

        var sqlite = new DbContextOptionsBuilder<SqliteServiceDbContext>();
        PersistenceServiceCollectionExtensions.Configure(sqlite, options);
        return new SqliteServiceDbContext(sqlite.Options);
    }
}

public sealed class SqliteBootstrapKeyConcurrencyTests : BootstrapKeyConcurrencyTests
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

public sealed class PostgresBootstrapKeyConcurrencyTests : BootstrapKeyConcurrencyTests
{
    protected override async Task<string?> CreateDatabaseAsync() => await (await SharedPostgres.GetAsync()).CreateDatabaseAsync("boot");
}
