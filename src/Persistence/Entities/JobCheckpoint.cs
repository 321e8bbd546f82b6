namespace TextClassification.Persistence.Entities;

/// <summary>The record of a checkpoint a job wrote after an epoch; the bytes live in the artifact store.</summary>
public sealed class JobCheckpoint
{
    public long Id { get; init; }

    public required string JobId { get; init; }

    public int Epoch { get; init; }

    public long Step { get; init; }

    public required string MetricsJson { get; init; }

    public required string ArtifactKey { get; init; }

    public required string Sha256 { get; init; }

    public long SizeBytes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
