using Microsoft.EntityFrameworkCore;

namespace TextClassification.Persistence.Artifacts;

/// <summary>The artifact keys the database refers to: what must never be collected, and what a backup must hold.</summary>
internal static class ArtifactReferences
{
    /// <summary>Every artifact key a row holds: datasets, retained checkpoints, model versions, uploaded base models and cached teacher outputs.</summary>
    public static async Task<HashSet<string>> ReadAsync(ServiceDbContext db, CancellationToken cancellationToken)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        keys.UnionWith(await db.Datasets.Select(d => d.ArtifactKey).ToListAsync(cancellationToken));
        keys.UnionWith(await db.JobCheckpoints.Where(c => c.ArtifactKey != null).Select(c => c.ArtifactKey!).ToListAsync(cancellationToken));
        foreach (var version in await db.ModelVersions.Select(v => new { v.CheckpointArtifactKey, v.OnnxArtifactKey, v.QuantizedOnnxArtifactKey }).ToListAsync(cancellationToken))
        {
            keys.Add(version.CheckpointArtifactKey);
            AddIfSet(keys, version.OnnxArtifactKey);
            AddIfSet(keys, version.QuantizedOnnxArtifactKey);
        }

        foreach (var model in await db.BaseModels.Select(b => new { b.WeightsArtifactKey, b.VocabularyArtifactKey }).ToListAsync(cancellationToken))
        {
            keys.Add(model.WeightsArtifactKey);
            keys.Add(model.VocabularyArtifactKey);
        }

        keys.UnionWith(await db.TeacherOutputs.Select(t => t.ArtifactKey).ToListAsync(cancellationToken));
        return keys;
    }

    private static void AddIfSet(HashSet<string> keys, string? key)
    {
        if (key is not null)
        {
            keys.Add(key);
        }
    }
}
