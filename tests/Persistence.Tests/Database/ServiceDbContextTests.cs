using Microsoft.EntityFrameworkCore;
using TextClassification.Persistence.Entities;
using TextClassification.TestSupport;

namespace TextClassification.Persistence.Tests.Database;

/// <summary>The migrations of each provider create a schema that stores and reads back every entity.</summary>
public abstract class ServiceDbContextTests : IAsyncLifetime
{
    protected PersistenceOptions Options { get; set; } = null!;

    public abstract Task InitializeAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private ServiceDbContext NewContext()
    {
        if (Options.Provider == DatabaseProvider.PostgreSql)
        {
            var builder = new DbContextOptionsBuilder<PostgresServiceDbContext>();
            PersistenceServiceCollectionExtensions.Configure(builder, Options);
            return new PostgresServiceDbContext(builder.Options);
        }
        else
        {
            var builder = new DbContextOptionsBuilder<SqliteServiceDbContext>();
            PersistenceServiceCollectionExtensions.Configure(builder, Options);
            return new SqliteServiceDbContext(builder.Options);
        }
    }

    [Fact]
    public async Task Migrations_apply_and_leave_nothing_pending()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task A_dataset_with_its_json_columns_round_trips_unchanged()
    {
        await using (var db = NewContext())
        {
            await db.Database.MigrateAsync();
            db.Datasets.Add(NewDataset("ds_01kaq3m5t8y9c2b7n4x6r0w1z0", "意图 😀"));
            await db.SaveChangesAsync();
        }

        await using (var db = NewContext())
        {
            var dataset = await db.Datasets.SingleAsync(d => d.Id == "ds_01kaq3m5t8y9c2b7n4x6r0w1z0");
            Assert.Equal("意图 😀", dataset.Name);
            Assert.Equal([new LabelCount("a", 3), new LabelCount("b", 1)], dataset.Labels);
            Assert.Equal(new TextLengthSummary(1, 2.5, 4), dataset.TextLength);
            Assert.Equal(new RowProblem(7, "The text is empty."), Assert.Single(dataset.Problems));
            Assert.Equal(3, dataset.PiiRedacted.Total);
            Assert.Equal(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero), dataset.CreatedAt);
        }
    }

    [Fact]
    public async Task Ids_compare_in_ordinal_order_in_queries()
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync();
        // Mixed digits and letters: a locale collation may order these differently from ordinal order.
        string[] ids = ["ds_01kaq3m5t8y9c2b7n4x6r0w1a1", "ds_01kaq3m5t8y9c2b7n4x6r0w1b1", "ds_01kaq3m5t8y9c2b7n4x6r0w111"];
        foreach (string id in ids)
        {
            db.Datasets.Add(NewDataset(id, id));
        }

        await db.SaveChangesAsync();

        var ordered = await db.Datasets.Where(d => ids.Contains(d.Id)).OrderByDescending(d => d.Id).Select(d => d.Id).ToListAsync();
        Assert.Equal(ids.Order(StringComparer.Ordinal).Reverse().ToList(), ordered);
        var older = await db.Datasets.Where(d => ids.Contains(d.Id) && string.Compare(d.Id, ids[0]) < 0).Select(d => d.Id).ToListAsync();
        Assert.Equal([ids[2]], older);
    }

    [Fact]
    public async Task A_job_row_detects_a_concurrent_write()
    {
        string id = ResourceId.New(ResourceId.FineTuningJobPrefix);
        await using (var db = NewContext())
        {
            await db.Database.MigrateAsync();
            db.FineTuningJobs.Add(new FineTuningJob
            {
                Id = id, Model = "m", Architecture = "ngram-bag", HyperparametersJson = "{}", TrainingDatasetId = "ds_x", CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        await using var first = NewContext();
        await using var second = NewContext();
        var a = await first.FineTuningJobs.SingleAsync(j => j.Id == id);
        var b = await second.FineTuningJobs.SingleAsync(j => j.Id == id);
        a.CancelRequested = true;
        a.ConcurrencyStamp = Guid.NewGuid();
        await first.SaveChangesAsync();
        b.Status = FineTuningJobStatus.Running;
        b.ConcurrencyStamp = Guid.NewGuid();

        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => second.SaveChangesAsync());
    }

    private static Dataset NewDataset(string id, string name) => new()
    {
        Id = id,
        Name = name,
        Format = "csv",
        RowCount = 4,
        PiiRedacted = new PiiRedactionSummary(1, 1, 1, 0),
        Labels = [new LabelCount("a", 3), new LabelCount("b", 1)],
        TextLength = new TextLengthSummary(1, 2.5, 4),
        Sha256 = new string('0', 64),
        SizeBytes = 10,
        ArtifactKey = $"datasets/{id}.jsonl",
        Problems = [new RowProblem(7, "The text is empty.")],
        CreatedAt = new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero),
    };
}

public sealed class SqliteServiceDbContextTests : ServiceDbContextTests, IDisposable
{
    private readonly TempDirectory _directory = new();

    public override Task InitializeAsync()
    {
        Options = new PersistenceOptions { Provider = DatabaseProvider.Sqlite, DataDirectory = _directory.Path };
        return Task.CompletedTask;
    }

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgresServiceDbContextTests(PostgresClusterFixture cluster) : ServiceDbContextTests, IClassFixture<PostgresClusterFixture>
{
    public override async Task InitializeAsync()
    {
        Options = new PersistenceOptions
        {
            Provider = DatabaseProvider.PostgreSql,
            ConnectionString = await cluster.Cluster.CreateDatabaseAsync("persistence"),
        };
    }
}
