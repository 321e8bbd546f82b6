using Microsoft.EntityFrameworkCore;
using TextClassification.Persistence.Configurations;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence;

/// <summary>
/// The metadata database. Each provider has its own subclass (<see cref="SqliteServiceDbContext"/>,
/// <see cref="PostgresServiceDbContext"/>) only so that each can own a migrations set; code asks for this type.
/// </summary>
public abstract class ServiceDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Dataset> Datasets => Set<Dataset>();

    public DbSet<FineTuningJob> FineTuningJobs => Set<FineTuningJob>();

    public DbSet<JobEvent> JobEvents => Set<JobEvent>();

    public DbSet<JobCheckpoint> JobCheckpoints => Set<JobCheckpoint>();

    public DbSet<ModelVersion> ModelVersions => Set<ModelVersion>();

    public DbSet<ModelAlias> ModelAliases => Set<ModelAlias>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    public DbSet<UploadedBaseModel> BaseModels => Set<UploadedBaseModel>();

    public DbSet<TeacherOutputs> TeacherOutputs => Set<TeacherOutputs>();

    public DbSet<WordVectorSet> WordVectorSets => Set<WordVectorSet>();

    public DbSet<HyperparameterSweep> HyperparameterSweeps => Set<HyperparameterSweep>();

    public DbSet<SweepTrial> SweepTrials => Set<SweepTrial>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ServiceDbContext).Assembly);
}

/// <summary>The embedded default. SQLite cannot compare <see cref="DateTimeOffset"/> in SQL, so times are stored as UTC ticks.</summary>
public sealed class SqliteServiceDbContext(DbContextOptions<SqliteServiceDbContext> options) : ServiceDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToUtcTicksConverter>();
    }
}

/// <summary>Production metadata on PostgreSQL.</summary>
public sealed class PostgresServiceDbContext(DbContextOptions<PostgresServiceDbContext> options) : ServiceDbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            if (property.FindAnnotation(OrdinalTextExtensions.OrdinalTextAnnotation) is not null)
            {
                property.SetCollation("C");
            }
        }
    }
}
