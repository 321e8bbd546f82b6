namespace TextClassification.Persistence.Entities;

/// <summary>
/// An uploaded, validated and normalized dataset. The rows themselves live in the artifact store
/// (<see cref="ArtifactKey"/>, one JSON object per line); this row holds only what describes them.
/// </summary>
public sealed class Dataset
{
    public required string Id { get; init; }

    public required string Name { get; set; }

    /// <summary>The format the upload was read as: <c>csv</c>, <c>tsv</c> or <c>jsonl</c>.</summary>
    public required string Format { get; init; }

    public DatasetStatus Status { get; set; } = DatasetStatus.Ready;

    public int RowCount { get; init; }

    public int RowsSkipped { get; init; }

    public int DuplicatesRemoved { get; init; }

    public required PiiRedactionSummary PiiRedacted { get; init; }

    public required List<LabelCount> Labels { get; init; }

    public required TextLengthSummary TextLength { get; init; }

    /// <summary>Hex SHA-256 of the stored (normalized) file, checked whenever it is read back.</summary>
    public required string Sha256 { get; init; }

    public long SizeBytes { get; init; }

    public required string ArtifactKey { get; init; }

    /// <summary>The first row problems found while importing, each with its line in the upload.</summary>
    public required List<RowProblem> Problems { get; init; }

    /// <summary>
    /// Texts without labels (uploaded with <c>text_only</c>): every stored row's label is empty. Such a dataset only
    /// feeds a distillation job's teacher (<c>unlabelled_dataset_id</c>); it cannot train or validate a job.
    /// </summary>
    public bool TextOnly { get; init; }

    /// <summary>The quality report computed at upload (the training project's <c>DatasetQualityReport</c>); null for datasets uploaded before it existed.</summary>
    public string? QualityJson { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

public enum DatasetStatus
{
    Ready,
}

public sealed record LabelCount(string Label, int Count);

public sealed record TextLengthSummary(int Min, double Mean, int Max);

public sealed record RowProblem(long Line, string Message);

public sealed record PiiRedactionSummary(int Email, int Phone, int Card, int Iban)
{
    public int Total => Email + Phone + Card + Iban;
}
