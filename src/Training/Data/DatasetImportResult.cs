namespace TextClassification.Training.Data;

/// <summary>The outcome of an import: whether the upload was refused, and the profile of the rows accepted.</summary>
/// <remarks>
/// Counts are of rows (records), not physical lines: a quoted CSV field may span lines. A rejected result still carries
/// the counts gathered until the rejection, but its rows must not be used.
/// </remarks>
public sealed record DatasetImportResult
{
    /// <summary>The detected format: <see cref="DatasetFormat.Csv"/>, <see cref="DatasetFormat.Tsv"/> or <see cref="DatasetFormat.JsonLines"/>.</summary>
    public required string Format { get; init; }

    /// <summary>Rows written to the normalized output.</summary>
    public int RowCount { get; init; }

    /// <summary>Rows skipped for a problem (all of them, not only those in <see cref="Problems"/>).</summary>
    public int RowsSkipped { get; init; }

    /// <summary>Valid rows dropped because an earlier accepted row had the same text and label.</summary>
    public int DuplicatesRemoved { get; init; }

    /// <summary>Personal data replaced in the accepted rows' text, by kind.</summary>
    public PiiRedactionCounts Pii { get; init; } = PiiRedactionCounts.None;

    /// <summary>Accepted rows per label, most frequent first, ties in ordinal order of the label.</summary>
    public IReadOnlyList<DatasetLabelCount> Labels { get; init; } = [];

    /// <summary>The accepted texts' lengths as stored (after redaction), in Unicode scalar values.</summary>
    public TextLengthStatistics TextLength { get; init; } = TextLengthStatistics.Empty;

    /// <summary>What the accepted rows say about the data's quality (label balance, duplicates across labels, odd texts, scripts).</summary>
    public DatasetQualityReport Quality { get; init; } = new([], new Dictionary<string, double>());

    /// <summary>The first <see cref="DatasetImportOptions.MaxProblemsReported"/> skipped rows, in file order.</summary>
    public IReadOnlyList<DatasetRowProblem> Problems { get; init; } = [];

    /// <summary>Why the upload was refused; empty when it was accepted. The most specific reason comes first.</summary>
    public IReadOnlyList<DatasetImportError> Errors { get; init; } = [];

    /// <summary>The upload was refused: the normalized output is incomplete or meaningless and must be discarded.</summary>
    public bool IsRejected => Errors.Count > 0;
}

/// <summary>The names of the formats an upload can be in.</summary>
public static class DatasetFormat
{
    /// <summary>Comma-separated values with a header row (RFC 4180).</summary>
    public const string Csv = "csv";

    /// <summary>Tab-separated values with a header row, quoted like CSV.</summary>
    public const string Tsv = "tsv";

    /// <summary>JSON Lines: one JSON object per line.</summary>
    public const string JsonLines = "jsonl";
}

/// <summary>A reason the whole upload was refused.</summary>
/// <param name="Line">The 1-based physical line at fault, when there is one.</param>
/// <param name="Field">The column or property at fault, when there is one.</param>
/// <param name="Message">What is wrong, in words the uploader can act on.</param>
public sealed record DatasetImportError(long? Line, string? Field, string Message);

/// <summary>A row that was skipped.</summary>
/// <param name="Line">The 1-based physical line on which the row starts.</param>
/// <param name="Message">What is wrong with the row.</param>
public sealed record DatasetRowProblem(long Line, string Message);

/// <summary>How many accepted rows have a label.</summary>
/// <param name="Label">The label as stored.</param>
/// <param name="Count">Accepted rows with that label.</param>
public sealed record DatasetLabelCount(string Label, int Count);

/// <summary>
/// Text lengths in Unicode scalar values, the unit that does not depend on an encoding: most emoji count one, a flag
/// two, and an accent that NFC cannot precompose one more than its base letter.
/// </summary>
/// <param name="Min">The shortest text.</param>
/// <param name="Mean">The mean length, unrounded.</param>
/// <param name="Max">The longest text.</param>
public sealed record TextLengthStatistics(int Min, double Mean, int Max)
{
    /// <summary>No rows.</summary>
    public static TextLengthStatistics Empty { get; } = new(0, 0, 0);
}
