namespace TextClassification.Training.Data;

/// <summary>How <see cref="DatasetImporter"/> reads and cleans an upload.</summary>
public sealed record DatasetImportOptions
{
    /// <summary>The column (CSV/TSV header) or property (JSONL) holding the text; matched trimmed and ignoring case.</summary>
    public string TextColumn { get; init; } = "text";

    /// <summary>The column or property holding the label; matched like <see cref="TextColumn"/>.</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary>
    /// Texts without labels (for a distillation job's teacher to score): <see cref="LabelColumn"/> is not read, every
    /// row is stored with an empty label, and the file need not have two labels.
    /// </summary>
    public bool TextOnly { get; init; }

    /// <summary>Drop rows whose text and label equal those of an earlier accepted row (after normalization and redaction).</summary>
    public bool Dedupe { get; init; } = true;

    /// <summary>Replace e-mail addresses, phone numbers, card numbers and IBANs in the text with tokens; see <see cref="PiiRedactor"/>.</summary>
    public bool RedactPii { get; init; }

    /// <summary>Reject the whole upload if any row has a problem, instead of skipping such rows.</summary>
    public bool Strict { get; init; }

    /// <summary>The longest text accepted, in Unicode scalar values, measured after trimming and NFC and before redaction.</summary>
    public int MaxTextLength { get; init; } = 10_000;

    /// <summary>Labels with fewer accepted rows than this are a <c>label_with_few_examples</c> quality warning.</summary>
    public int MinExamplesPerLabel { get; init; } = 5;

    /// <summary>How many row problems the result lists; all of them are counted in <see cref="DatasetImportResult.RowsSkipped"/>.</summary>
    public int MaxProblemsReported { get; init; } = 100;
}
