using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Deletes artifact files that no row references: a crash between storing a file and recording it (or between
/// clearing a row's reference and deleting the file) leaves one behind, and so does a write abandoned half-way (its
/// temporary file). Only files older than a grace period go, because a younger one may be a write whose row is being
/// recorded right now: artifacts are stored first and recorded after.
/// </summary>
public sealed partial class OrphanArtifactCollector(IArtifactStore store, IServiceScopeFactory scopes, TimeProvider clock, ILogger<OrphanArtifactCollector> logger)
{
    /// <summary>Walks the store once and deletes every unreferenced file older than <paramref name="gracePeriod"/>.</summary>
    public async Task<OrphanCollectionReport> RunAsync(TimeSpan gracePeriod, CancellationToken cancellationToken)
    {
        // The cutoff is taken before the references are read: a file written after it is spared whatever the rows say,
        // and one written before it had its row recorded long before the references are read.
        var cutoff = clock.GetUtcNow() - gracePeriod;
        var referenced = await ReferencedKeysAsync(cancellationToken);
        int deleted = 0, young = 0, kept = 0;
        long freed = 0;
        await foreach (var file in store.ListAsync(cancellationToken))
        {
            if (!file.IsPartial && referenced.Contains(file.Key))
            {
                kept++;
                continue;
            }

            if (file.LastWrittenAt > cutoff)
            {
                young++;
                continue;
            }

            store.Delete(file.Key);
            deleted++;
            freed += file.SizeBytes;
            LogDeleted(logger, file.Key, file.SizeBytes, file.LastWrittenAt);
        }

        var report = new OrphanCollectionReport(deleted, freed, young, kept);
        LogCollected(logger, deleted, freed, young, gracePeriod, kept);
        return report;
    }

    private async Task<HashSet<string>> ReferencedKeysAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await ArtifactReferences.ReadAsync(scope.ServiceProvider.GetRequiredService<ServiceDbContext>(), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted orphan artifact {Key} ({Bytes} bytes, last written {LastWrittenAt:o}): no row references it")]
    private static partial void LogDeleted(ILogger logger, string key, long bytes, DateTimeOffset lastWrittenAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Orphan artifact collection freed {Deleted} file(s), {Bytes} bytes; "
        + "{Young} unreferenced file(s) younger than {GracePeriod} spared; {Kept} referenced file(s) kept")]
    private static partial void LogCollected(ILogger logger, int deleted, long bytes, int young, TimeSpan gracePeriod, int kept);
}

/// <summary>What one <see cref="OrphanArtifactCollector.RunAsync"/> did.</summary>
/// <param name="Deleted">Unreferenced files deleted (temporary files of abandoned writes included).</param>
/// <param name="FreedBytes">Their size on disk.</param>
/// <param name="SparedYoung">Unreferenced files left because they are younger than the grace period.</param>
/// <param name="Referenced">Files kept because a row references them.</param>
public sealed record OrphanCollectionReport(int Deleted, long FreedBytes, int SparedYoung, int Referenced);
