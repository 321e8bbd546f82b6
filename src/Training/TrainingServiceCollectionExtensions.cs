using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Training.Jobs;

namespace TextClassification.Training;

public static class TrainingServiceCollectionExtensions
{
    /// <summary>
    /// Registers background job processing: Hangfire on PostgreSQL storage (shared by every process, so API-only and
    /// worker-only processes can run on separate machines) or on in-memory storage with the embedded SQLite default
    /// (one process; the database stays the source of truth and lost jobs are re-enqueued at start-up).
    /// </summary>
    public static IServiceCollection AddTraining(this IServiceCollection services)
    {
        services.AddOptions<JobsOptions>()
            .BindConfiguration(JobsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddHangfire((provider, configuration) =>
        {
            var persistence = provider.GetRequiredService<IOptions<PersistenceOptions>>().Value;
            var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
            configuration
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            if (persistence.Provider == DatabaseProvider.PostgreSql)
            {
                configuration.UsePostgreSqlStorage(
                    connection => connection.UseNpgsqlConnection(persistence.ConnectionString),
                    new PostgreSqlStorageOptions
                    {
                        SchemaName = jobs.HangfireSchema,
                        PrepareSchemaIfNecessary = true,
                        // A training run can outlast any fixed invisibility timeout; the sliding one keeps a
                        // heartbeat on the fetched job instead, so no second worker receives it while it runs.
                        UseSlidingInvisibilityTimeout = true,
                        InvisibilityTimeout = TimeSpan.FromMinutes(5),
                        QueuePollInterval = TimeSpan.FromSeconds(1),
                    });
            }
            else
            {
                configuration.UseInMemoryStorage();
            }
        });

        services.AddHealthChecks()
            .AddCheck<HangfireStorageHealthCheck>("hangfire", HealthStatus.Unhealthy, [PersistenceServiceCollectionExtensions.ReadinessTag]);

        // Not AddHangfireServer: whether this process runs jobs is a run-time setting (Jobs:Role), read at start.
        services.AddHostedService<WorkerHostedService>();

        return services;
    }
}
