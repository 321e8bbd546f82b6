using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Persistence;

/// <summary>
/// Brings the schema up to date before anything else starts (hosted services start in registration order, and
/// <see cref="PersistenceServiceCollectionExtensions.AddPersistence"/> is called first). Several processes may start
/// against one PostgreSQL at once; EF Core's migration lock makes the second wait and then find nothing to do.
/// </summary>
internal sealed partial class DatabaseMigrationService(
    IServiceScopeFactory scopes,
    IOptions<PersistenceOptions> options,
    ILogger<DatabaseMigrationService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.ApplyMigrationsOnStartup)
        {
            LogSkipped(logger);
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var database = scope.ServiceProvider.GetRequiredService<ServiceDbContext>().Database;
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
