using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Persistence;

/// <summary>
/// Brings the schema up to date before anything else starts (hosted services start in registration order, and
/// <see cref="PersistenceServiceCollectionExtensions.AddPersistence"/> is called first). Several processes may start
/// against one PostgreSQL at once; an advisory lock makes the second wait and then find nothing to do.
/// </summary>
internal sealed partial class DatabaseMigrationService(
    IServiceScopeFactory scopes,
    IOptions<PersistenceOptions> options,
    ILogger<DatabaseMigrationService> logger) : IHostedService
{
    /// <summary>The advisory lock key of start-up migrations on PostgreSQL: "tcmigr" in ASCII.</summary>
    private const long MigrationLockId = 0x7463_6D69_6772;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.ApplyMigrationsOnStartup)
        {
            LogSkipped(logger);
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var database = db.Database;
        if (db is not PostgresServiceDbContext)
        {
            await MigrateAsync(database, cancellationToken);
            return;
        }

        // EF Core's own migration lock did not keep four processes starting at once on an empty PostgreSQL database
        // from applying the same migration twice ("relation already exists"); a session-level advisory lock on the
        // connection the migrations run on does.
        await database.OpenConnectionAsync(cancellationToken);
        try
        {
            await database.ExecuteSqlAsync($"SELECT pg_advisory_lock({MigrationLockId})", cancellationToken);
            try
            {
                await MigrateAsync(database, cancellationToken);
            }
            finally
            {
                await database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({MigrationLockId})", CancellationToken.None);
            }
        }
        finally
        {
            await database.CloseConnectionAsync();
        }
    }

    private async Task MigrateAsync(Microsoft.EntityFrameworkCore.Infrastructure.DatabaseFacade database, CancellationToken cancellationToken)
    {
        var pending = (await database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            LogApplying(logger, pending.Count, options.Value.Provider, string.Join(", ", pending));
            await database.MigrateAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} migration(s) to the {Provider} database: {Migrations}")]
    private static partial void LogApplying(ILogger logger, int count, DatabaseProvider provider, string migrations);

    [LoggerMessage(Level = LogLevel.Information, Message = "Start-up migrations are turned off (Persistence:ApplyMigrationsOnStartup=false)")]
    private static partial void LogSkipped(ILogger logger);
}
