using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
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
    /// <param name="services">The service collection.</param>
    /// <param name="serviceExecutable">
    /// The service's entry assembly, which a worker starts again as a training child process
    /// (<see cref="TrainingIsolation.ChildProcess"/>); null where this process never supervises training.
    /// </param>
    public static IServiceCollection AddTraining(this IServiceCollection services, System.Reflection.Assembly? serviceExecutable = null)
    {
        services.AddOptions<TrainingOptions>()
            .BindConfiguration(TrainingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<TrainingDevice>();
        services.AddSingleton<BaseModels.BaseModelCatalog>();
        services.AddSingleton<BaseModels.WordVectorCache>();
        services.AddOptions<BaseModels.BaseModelsOptions>()
            .BindConfiguration(BaseModels.BaseModelsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<JobsOptions>()
            .BindConfiguration(JobsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Hangfire's own AddHangfire configures process-wide statics (JobStorage.Current); registering the storage and
        // client per container instead keeps each host (and each test host in one process) on its own queue.
        services.AddSingleton<JobStorage>(provider =>
        {
            var persistence = provider.GetRequiredService<IOptions<PersistenceOptions>>().Value;
            var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
            if (persistence.Provider != DatabaseProvider.PostgreSql)
            {
                return new InMemoryStorage();
            }

            return new PostgreSqlStorage(
                new NpgsqlConnectionFactory(persistence.ConnectionString, new PostgreSqlStorageOptions()),
                new PostgreSqlStorageOptions
                {
                    SchemaName = jobs.HangfireSchema,
                    PrepareSchemaIfNecessary = true,
                    // A training run can outlast any fixed invisibility timeout; the sliding one keeps a heartbeat
                    // on the fetched job instead, so no second worker receives it while the first still runs it.
                    UseSlidingInvisibilityTimeout = true,
                    InvisibilityTimeout = TimeSpan.FromMinutes(5),
                    QueuePollInterval = TimeSpan.FromSeconds(1),
                });
        });
        services.AddSingleton<IJobFilterProvider>(_ => JobFilterProviders.Providers);
        services.AddSingleton<IBackgroundJobClient>(provider =>
            new BackgroundJobClient(provider.GetRequiredService<JobStorage>(), provider.GetRequiredService<IJobFilterProvider>()));
        services.AddSingleton<JobActivator>(provider => new AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton(_ => Hangfire.Dashboard.DashboardRoutes.Routes);
        // The dashboard middleware refuses to start unless it finds this registration (AddHangfire would add it).
        services.AddSingleton<IGlobalConfiguration>(_ => GlobalConfiguration.Configuration);

        services.AddHealthChecks()
            .AddCheck<HangfireStorageHealthCheck>("hangfire", HealthStatus.Unhealthy, [PersistenceServiceCollectionExtensions.ReadinessTag]);

        services.AddSingleton<JobEventLog>();
        services.AddSingleton<JobLease>();
        services.AddScoped<FineTuningJobScheduler>();
        services.AddTransient<FineTuningJobExecution>();
        services.AddSingleton<Distillation.TeacherOutputCache>();
        services.AddSingleton<Distillation.WordNeighbours>();
        services.AddSingleton<TrainingHeartbeat>();
        services.AddSingleton(new Jobs.TrainingProcess.TrainingProcessExecutable(serviceExecutable));
        services.AddTransient<Jobs.TrainingProcess.TrainingProcessSupervisor>();
        services.AddTransient<IFineTuningJobExecution>(provider =>
            provider.GetRequiredService<IOptions<JobsOptions>>().Value.TrainingProcess.Isolation == TrainingIsolation.InProcess
                ? provider.GetRequiredService<FineTuningJobExecution>()
                : provider.GetRequiredService<Jobs.TrainingProcess.TrainingProcessSupervisor>());
        services.AddTransient<FineTuningJobRunner>();
        services.AddTransient<ArtifactMaintenanceJob>();
        services.AddHostedService<BackgroundJobRecoveryService>();
        services.AddHostedService<ExpiredLeaseTakeover>();
        services.AddSingleton<Sweeps.SweepTrialPruner>();
        services.AddSingleton<Sweeps.SweepOrchestrator>();
        services.AddHostedService(provider => provider.GetRequiredService<Sweeps.SweepOrchestrator>());

        // Not AddHangfireServer: whether this process runs jobs is a run-time setting (Jobs:Role), read at start.
        services.AddHostedService<WorkerHostedService>();

        return services;
    }
}
