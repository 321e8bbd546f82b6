using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TextClassification.Persistence.Artifacts;

namespace TextClassification.Persistence;

public static class PersistenceServiceCollectionExtensions
{
    /// <summary>Tag of the health checks that decide readiness (<c>/health/ready</c>).</summary>
    public const string ReadinessTag = "ready";

    /// <summary>
    /// Registers the metadata database (SQLite or PostgreSQL, by <see cref="PersistenceOptions.Provider"/>), the
    /// artifact store (encrypting when <see cref="PersistenceOptions.EncryptionKey"/> is set), the start-up check of that
    /// key, start-up migrations and the database readiness check.
    /// </summary>
    public static IServiceCollection AddPersistence(this IServiceCollection services)
    {
        services.AddOptions<PersistenceOptions>()
            .BindConfiguration(PersistenceOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Both provider contexts are registered; the bound options decide which one a ServiceDbContext resolves to.
        services.AddDbContext<SqliteServiceDbContext>((provider, builder) =>
            Configure(builder, provider.GetRequiredService<IOptions<PersistenceOptions>>().Value));
        services.AddDbContext<PostgresServiceDbContext>((provider, builder) =>
            Configure(builder, provider.GetRequiredService<IOptions<PersistenceOptions>>().Value));
        services.AddScoped<ServiceDbContext>(provider =>
            provider.GetRequiredService<IOptions<PersistenceOptions>>().Value.Provider == DatabaseProvider.PostgreSql
                ? provider.GetRequiredService<PostgresServiceDbContext>()
                : provider.GetRequiredService<SqliteServiceDbContext>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IArtifactStore, LocalDirectoryArtifactStore>();
        services.AddSingleton<ArtifactKeyRotation>();
        services.AddSingleton<OrphanArtifactCollector>();
        services.AddSingleton<Backup.ServiceBackup>();
        // Hosted services start in registration order: a wrong encryption key stops the host before anything else runs.
        services.AddHostedService<ArtifactEncryptionKeyCheck>();
        services.AddHostedService<DatabaseMigrationService>();
        services.AddHealthChecks()
            .AddDbContextCheck<ServiceDbContext>("database", HealthStatus.Unhealthy, [ReadinessTag]);
        return services;
    }

    /// <summary>Points <paramref name="builder"/> at the configured database with the provider's own migrations.</summary>
    public static void Configure(DbContextOptionsBuilder builder, PersistenceOptions options)
    {
        switch (options.Provider)
        {
            case DatabaseProvider.PostgreSql:
                builder.UseNpgsql(options.ConnectionString);
                break;
            default:
                Directory.CreateDirectory(options.ResolvedDataDirectory);
                builder.UseSqlite(options.SqliteConnectionString);
                break;
        }
    }
}
