using System.ComponentModel.DataAnnotations;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// Limits on uploaded base models. Bound from the <c>BaseModels</c> section and validated on start:
/// <code>
/// "BaseModels": {
///   "MaxUploadBytes": 2147483648,     // the archive as sent (413 past it)
///   "MaxExpandedBytes": 4294967296,   // everything the archive expands to, counted while it is read (zip bombs)
///   "MaxArchiveEntries": 10000
/// }
/// </code>
/// The defaults take bert-base (440 MB of float32 weights) and multilingual BERT (680 MB) with room to spare.
/// </summary>
public sealed class BaseModelsOptions
{
    public const string SectionName = "BaseModels";

    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 2L << 30;

    [Range(1, long.MaxValue)]
    public long MaxExpandedBytes { get; set; } = 4L << 30;

    [Range(1, 1_000_000)]
    public int MaxArchiveEntries { get; set; } = 10_000;
}
