using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>
/// What a service has stored: its dataset and job rows, and every file under its data directory except the
/// database's own (SQLite's files change on every read as well as write). Two snapshots are equal when a request
/// stored nothing: no row, no artifact, no spooled upload left behind.
/// </summary>
internal sealed record StoredState(int Datasets, int Jobs, IReadOnlyDictionary<string, long> Files)
{
    private static readonly string[] DatabaseSuffixes = [".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite", ".sqlite-wal", ".sqlite-shm"];

    public static async Task<StoredState> TakeAsync(ServiceFactory factory)
    {
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        int datasets = await db.Datasets.CountAsync();
        int jobs = await db.FineTuningJobs.CountAsync();
        var files = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(factory.DataDirectory).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (DatabaseSuffixes.Any(suffix => file.Name.EndsWith(suffix, StringComparison.Ordinal)))
            {
                continue;
            }

            try
            {
                files[Path.GetRelativePath(factory.DataDirectory, file.FullName)] = file.Length;
            }
            catch (FileNotFoundException)
            {
                // Renamed or deleted since it was listed (a cancelled job finishing its checkpoint): not there now.
            }
        }

        return new StoredState(datasets, jobs, files);
    }

    /// <summary>Fails with what changed when <paramref name="after"/> differs from this snapshot.</summary>
    public void AssertUnchanged(StoredState after, string because)
    {
        var added = after.Files.Keys.Except(Files.Keys).ToList();
        var removed = Files.Keys.Except(after.Files.Keys).ToList();
        var resized = Files.Keys.Intersect(after.Files.Keys).Where(k => Files[k] != after.Files[k]).ToList();
        Assert.True(
            Datasets == after.Datasets && Jobs == after.Jobs && added.Count == 0 && removed.Count == 0 && resized.Count == 0,
            $"{because}, yet the stored state changed: datasets {Datasets} → {after.Datasets}, jobs {Jobs} → {after.Jobs}, " +
            $"files added [{string.Join(", ", added)}], removed [{string.Join(", ", removed)}], resized [{string.Join(", ", resized)}].");
    }
}
