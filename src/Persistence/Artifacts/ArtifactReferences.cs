using Microsoft.EntityFrameworkCore;

namespace TextClassification.Persistence.Artifacts;

/// <summary>The artifact keys the database refers to: what must never be collected, and what a backup must hold.</summary>
internal static class ArtifactReferences
{
    /// <summary>Every artifact key a row holds: datasets, retained checkpoints, model versions, sweep trials' pending versions, uploaded base models, cached teacher outputs and base models' stored word outputs.</summary>
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

        // A sweep's trial keeps the version it would register on its job until the sweep decides (see
        // FineTuningJob.PendingVersionJson); its files are referenced until then, and collected once it is let go.
        foreach (var pending in await db.FineTuningJobs.Where(j => j.PendingVersionJson != null).Select(j => j.PendingVersionJson!).ToListAsync(cancellationToken))
        {
            using var document = System.Text.Json.JsonDocument.Parse(pending);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name.EndsWith("artifact_key", StringComparison.Ordinal) && property.Value.ValueKind == System.Text.Json.JsonValueKind.String)
                {
                    keys.Add(property.Value.GetString()!);
                }
            }
        }

        foreach (var model in await db.BaseModels.Select(b => new { b.WeightsArtifactKey, b.VocabularyArtifactKey }).ToListAsync(cancellationToken))
        {
            keys.Add(model.WeightsArtifactKey);
            keys.Add(model.VocabularyArtifactKey);
        }

        keys.UnionWith(await db.TeacherOutputs.Select(t => t.ArtifactKey).ToListAsync(cancellationToken));
        keys.UnionWith(await db.WordVectorSets.Select(w => w.ArtifactKey).ToListAsync(cancellationToken));
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
