using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Jobs;

/// <summary>
/// A trained model's stored files and figures, ready to become a version: everything a <see cref="ModelVersion"/>
/// holds but its number. An ordinary job registers it at once; a sweep's trial keeps it on its job
/// (<see cref="FineTuningJob.PendingVersionJson"/>) until the sweep registers its best trial's.
/// </summary>
public sealed record PreparedModelVersion(
    string Architecture,
    string LabelsJson,
    string MetricsJson,
    double? OutOfScopeThreshold,
    string CheckpointArtifactKey,
    string CheckpointSha256,
    long CheckpointSizeBytes,
    string OnnxArtifactKey,
    string OnnxSha256,
    long OnnxSizeBytes,
    int Opset,
    string ParityJson,
    string? QuantizedOnnxArtifactKey,
    string? QuantizedOnnxSha256,
    long? QuantizedOnnxSizeBytes,
    string? QuantizationJson,
    string? Teacher = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, TrainingJson.Options);

    public static PreparedModelVersion FromJson(string json) => JsonSerializer.Deserialize<PreparedModelVersion>(json, TrainingJson.Options)!;

    /// <summary>
    /// Registers this as the next version of <paramref name="model"/>, made by <paramref name="jobId"/>;
    /// <paramref name="alongside"/> adds other changes saved in the same transaction. Versions are numbered in the
    /// database: a concurrent registration that took the number first makes this one take the next.
    /// </summary>
    public async Task<int> RegisterAsync(
        IServiceScopeFactory scopes, string model, string jobId, TimeProvider clock, Func<ServiceDbContext, int, Task>? alongside, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(clock);
        for (int attempt = 0; ; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            int version = 1 + (await db.ModelVersions.Where(v => v.ModelName == model).MaxAsync(v => (int?)v.Version, cancellationToken) ?? 0);
            db.ModelVersions.Add(new ModelVersion
            {
                ModelName = model,
                Version = version,
                JobId = jobId,
                Architecture = Architecture,
                LabelsJson = LabelsJson,
                MetricsJson = MetricsJson,
                OutOfScopeThreshold = OutOfScopeThreshold,
                CheckpointArtifactKey = CheckpointArtifactKey,
                CheckpointSha256 = CheckpointSha256,
                CheckpointSizeBytes = CheckpointSizeBytes,
                OnnxArtifactKey = OnnxArtifactKey,
                OnnxSha256 = OnnxSha256,
                OnnxSizeBytes = OnnxSizeBytes,
                Opset = Opset,
                ParityJson = ParityJson,
                QuantizedOnnxArtifactKey = QuantizedOnnxArtifactKey,
                QuantizedOnnxSha256 = QuantizedOnnxSha256,
                QuantizedOnnxSizeBytes = QuantizedOnnxSizeBytes,
                QuantizationJson = QuantizationJson,
                Teacher = Teacher,
                CreatedAt = clock.GetUtcNow(),
            });
            if (alongside is not null)
            {
                await alongside(db, version);
            }

            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return version;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
                // Another job took this version number in the meantime: take the next one.
            }
        }
    }
}
