using System.ComponentModel.DataAnnotations;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// Limits on dataset uploads. Bound from the <c>Datasets</c> section:
/// <code>
/// "Datasets": { "MaxUploadBytes": 209715200, "MaxTextLength": 10000, "MinExamplesPerLabel": 5 }
/// </code>
/// </summary>
public sealed class DatasetsOptions
{
    public const string SectionName = "Datasets";

    /// <summary>The largest file accepted, in bytes (default 200 MB); a larger upload gets 413.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 200L * 1024 * 1024;

    /// <summary>Rows whose text is longer than this many characters are skipped as problems.</summary>
    [Range(1, 1_000_000)]
    public int MaxTextLength { get; set; } = 10_000;

    /// <summary>A label with fewer rows than this is a <c>label_with_few_examples</c> warning in the quality report.</summary>
    [Range(1, 1_000_000)]
    public int MinExamplesPerLabel { get; set; } = 5;
}
