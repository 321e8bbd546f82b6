namespace TextClassification.Persistence.Entities;

/// <summary>
/// The record of a checkpoint a job wrote after an epoch; the bytes live in the artifact store. Only the newest
/// checkpoint of a job keeps its file (it holds the last weights, the best weights so far and the optimizer state,
/// all that resume needs); older rows stay as the job's history with <see cref="ArtifactKey"/> null.
/// </summary>
public sealed class JobCheckpoint
{
    public long Id { get; init; }

    public required string JobId { get; init; }

    public int Epoch { get; init; }

    public long Step { get; init; }

    public required string MetricsJson { get; init; }

    /// <summary>Where the file is; null once a newer checkpoint replaced it.</summary>
    public string? ArtifactKey { get; set; }

    public required string Sha256 { get; init; }

    public long SizeBytes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
