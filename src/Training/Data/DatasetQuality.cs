using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace TextClassification.Training.Data;

/// <summary>How bad a finding is: <c>error</c> makes training meaningless, <c>warning</c> is likely to hurt, <c>info</c> describes.</summary>
public enum QualitySeverity
{
    [JsonStringEnumMemberName("info")]
    Info,

    [JsonStringEnumMemberName("warning")]
    Warning,

    [JsonStringEnumMemberName("error")]
    Error,
}

/// <summary>One example behind a finding.</summary>
/// <param name="Line">The row's line in the upload; null for a finding about a label.</param>
/// <param name="Text">The row's text as stored; null for a finding about a label.</param>
/// <param name="Label">The row's label, or the label the finding is about.</param>
/// <param name="OtherLabel">For duplicates across labels: the label the earlier row gave the same text.</param>
/// <param name="OtherLine">For duplicates across labels: the earlier row's line.</param>
public sealed record QualityExample(long? Line, string? Text, string? Label, string? OtherLabel = null, long? OtherLine = null);

/// <summary>Rows whose text has <paramref name="From"/> to <paramref name="To"/> characters (<paramref name="To"/> excluded; null: no upper end).</summary>
public sealed record TextLengthBucket(int From, int? To, int Count);

/// <summary>One thing the quality report found.</summary>
/// <param name="Severity">How bad it is.</param>
/// <param name="Code">Stable, for clients to act on (<c>conflicting_duplicates</c>, ...).</param>
/// <param name="Message">What it is and what to do, in words.</param>
/// <param name="Count">Rows (or labels) affected, all of them.</param>
/// <param name="Examples">The first <see cref="DatasetQualityReport.MaxExamples"/> of them, in file order.</param>
public sealed record QualityFinding(QualitySeverity Severity, string Code, string Message, int Count, IReadOnlyList<QualityExample> Examples);

/// <summary>What the upload's rows say about the data's quality, computed while they stream in.</summary>
/// <param name="Findings">Errors first, then warnings, then information.</param>
/// <param name="Scripts">Share of rows by their dominant writing system (<c>latin</c>, <c>cjk</c>, <c>arabic</c>, <c>cyrillic</c>, <c>other</c>, <c>none</c>).</param>
/// <param name="TextLengths">
/// Rows by text length in characters, in the fixed buckets of <see cref="TextLengthBucketStarts"/> (the last one
/// open-ended), empty buckets included; null for a report made before histograms existed.
/// </param>
public sealed record DatasetQualityReport(IReadOnlyList<QualityFinding> Findings, IReadOnlyDictionary<string, double> Scripts, IReadOnlyList<TextLengthBucket>? TextLengths = null)
{
    public const int MaxExamples = 100;

    /// <summary>Where each text-length bucket starts, in characters: fine where short texts crowd, coarse in the long tail.</summary>
    public static readonly IReadOnlyList<int> TextLengthBucketStarts = [0, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000, 2000];

    public static class Codes
    {
        public const string EveryLabelUnique = "every_label_unique";
        public const string FewExamples = "label_with_few_examples";
        public const string Imbalance = "label_imbalance";
        public const string ConflictingDuplicates = "conflicting_duplicates";
        public const string NearDuplicates = "near_duplicates_across_labels";
        public const string NoLetters = "text_without_letters";
        public const string VeryShort = "text_very_short";
        public const string MostlyNonLetters = "text_mostly_non_letters";
        public const string MixedScripts = "mixed_scripts";
    }
}

/// <summary>
/// Builds a <see cref="DatasetQualityReport"/> from the accepted rows as the import writes them, in one pass: rows are
/// remembered by hashes of their text (exact, and with case, punctuation and whitespace removed) with their first
/// label and line, never whole: under 40 bytes a distinct text.
/// </summary>
internal sealed class DatasetQualityCollector(int minExamplesPerLabel)
{
    private const int VeryShortLetters = 3;
    private const double ImbalanceWarning = 10;

    // One entry per distinct text, keyed by a 64-bit hash of its folded form (lower case, letters and digits only; the
    // exact text for one with none): the first row's label (an index), line and exact-text hash. 64 bits keep a
    // collision unlikely below billions of rows, and an entry at 24 bytes of payload keeps a 130,000-row upload's
    // map near 4 MB.
    private readonly Dictionary<ulong, (int Label, int Line, ulong Exact)> seen = [];
    private readonly Dictionary<string, int> labelIndex = new(StringComparer.Ordinal);
    private readonly List<string> labelNames = [];
    private readonly Dictionary<string, int> scripts = new(StringComparer.Ordinal);
    private readonly Found conflicting = new();
    private readonly Found nearDuplicates = new();
    private readonly Found noLetters = new();
    private readonly Found veryShort = new();
    private readonly Found mostlyNonLetters = new();
    private readonly int[] lengths = new int[DatasetQualityReport.TextLengthBucketStarts.Count];
    private int rows;

    /// <param name="line">The row's line in the file.</param>
    /// <param name="text">Its text as stored.</param>
    /// <param name="label">Its label.</param>
    /// <param name="length">The text's length in characters (Unicode scalars), as the dataset's profile counts it.</param>
    public void Add(long line, string text, string label, int length)
    {
        rows++;
        int bucket = DatasetQualityReport.TextLengthBucketStarts.Count - 1;
        while (DatasetQualityReport.TextLengthBucketStarts[bucket] > length)
        {
            bucket--;
        }

        lengths[bucket]++;
        var shape = Shape.Of(text);
        CollectionsMarshal.GetValueRefOrAddDefault(scripts, shape.Script, out _)++;
        if (shape.Letters == 0)
        {
            noLetters.Add(new QualityExample(line, text, label));
        }
        else if (shape.Letters < VeryShortLetters)
        {
            veryShort.Add(new QualityExample(line, text, label));
        }
        else if (shape.Letters * 2 < shape.NonSpace)
        {
            mostlyNonLetters.Add(new QualityExample(line, text, label));
        }

        ref int index = ref CollectionsMarshal.GetValueRefOrAddDefault(labelIndex, label, out bool known);
        if (!known)
        {
            index = labelNames.Count;
            labelNames.Add(label);
        }

        ulong exactKey = Hash(text);
        ulong key = shape.Folded.Length == 0 ? exactKey : Hash(shape.Folded);
        ref var first = ref CollectionsMarshal.GetValueRefOrAddDefault(seen, key, out bool repeated);
        if (!repeated)
        {
            first = (index, (int)Math.Min(line, int.MaxValue), exactKey);
        }
        else if (first.Label != index)
        {
            var example = new QualityExample(line, text, label, labelNames[first.Label], first.Line);
            (first.Exact == exactKey ? conflicting : nearDuplicates).Add(example);
        }
    }

    public DatasetQualityReport Build(IReadOnlyList<DatasetLabelCount> labels)
    {
        var findings = new List<QualityFinding>();
        if (labels.Count > 1 && labels.Count == rows)
        {
            findings.Add(new(QualitySeverity.Error, DatasetQualityReport.Codes.EveryLabelUnique,
                $"Every one of the {rows} rows has a label of its own: a classifier cannot learn a label from one example. Is the label column right?",
                labels.Count, labels.Take(DatasetQualityReport.MaxExamples).Select(l => new QualityExample(null, null, l.Label)).ToList()));
        }
        else
        {
            var few = labels.Where(l => l.Count < minExamplesPerLabel).OrderBy(l => l.Count).ThenBy(l => l.Label, StringComparer.Ordinal).ToList();
            if (few.Count > 0)
            {
                findings.Add(new(QualitySeverity.Warning, DatasetQualityReport.Codes.FewExamples,
                    $"{few.Count} label(s) have fewer than {minExamplesPerLabel} examples (the fewest: '{few[0].Label}' with {few[0].Count}): too few to learn reliably or to keep some for validation.",
                    few.Count, few.Take(DatasetQualityReport.MaxExamples).Select(l => new QualityExample(null, null, l.Label)).ToList()));
            }

            if (labels.Count > 1 && labels[0].Count >= labels[^1].Count * ImbalanceWarning)
            {
                findings.Add(new(QualitySeverity.Warning, DatasetQualityReport.Codes.Imbalance,
                    $"The largest label ('{labels[0].Label}', {labels[0].Count} rows) has {(double)labels[0].Count / labels[^1].Count:0.#} times the rows of the smallest ('{labels[^1].Label}', {labels[^1].Count}).",
                    2, [new QualityExample(null, null, labels[0].Label), new QualityExample(null, null, labels[^1].Label)]));
            }
        }

        conflicting.AddTo(findings, QualitySeverity.Warning, DatasetQualityReport.Codes.ConflictingDuplicates,
            n => $"{n} row(s) repeat an earlier row's text under another label: the model is taught both answers. Each example names the earlier line and label.");
        nearDuplicates.AddTo(findings, QualitySeverity.Warning, DatasetQualityReport.Codes.NearDuplicates,
            n => $"{n} row(s) differ from an earlier row of another label only in case, punctuation or spacing.");
        noLetters.AddTo(findings, QualitySeverity.Warning, DatasetQualityReport.Codes.NoLetters,
            n => $"{n} text(s) have no letter or digit at all (only punctuation, symbols or emoji).");
        veryShort.AddTo(findings, QualitySeverity.Info, DatasetQualityReport.Codes.VeryShort,
            n => $"{n} text(s) have fewer than {VeryShortLetters} letters or digits.");
        mostlyNonLetters.AddTo(findings, QualitySeverity.Info, DatasetQualityReport.Codes.MostlyNonLetters,
            n => $"{n} text(s) are mostly symbols, punctuation or markup rather than letters.");

        var shares = scripts.OrderByDescending(s => s.Value).ThenBy(s => s.Key, StringComparer.Ordinal)
            .ToDictionary(s => s.Key, s => Math.Round((double)s.Value / Math.Max(rows, 1), 4));
        var written = shares.Where(s => s.Key != "none").ToList();
        if (written.Count > 1)
        {
            findings.Add(new(QualitySeverity.Info, DatasetQualityReport.Codes.MixedScripts,
                "Rows by writing system: " + string.Join(", ", written.Select(s => $"{s.Key} {s.Value * 100:0.#} %")) + ".",
                written.Count, []));
        }

        var starts = DatasetQualityReport.TextLengthBucketStarts;
        var histogram = lengths.Select((count, i) => new TextLengthBucket(starts[i], i + 1 < starts.Count ? starts[i + 1] : null, count)).ToList();
        return new DatasetQualityReport(findings.OrderByDescending(f => f.Severity).ToList(), shares, histogram);
    }

    private static ulong Hash(string text)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return MemoryMarshal.Read<ulong>(hash);
    }

    /// <summary>Rows of one kind: all counted, the first <see cref="DatasetQualityReport.MaxExamples"/> kept.</summary>
    private sealed class Found
    {
        private readonly List<QualityExample> examples = [];

        public int Count { get; private set; }

        public void Add(QualityExample example)
        {
            if (Count++ < DatasetQualityReport.MaxExamples)
            {
                examples.Add(example);
            }
        }

        public void AddTo(List<QualityFinding> findings, QualitySeverity severity, string code, Func<int, string> message)
        {
            if (Count > 0)
            {
                findings.Add(new QualityFinding(severity, code, message(Count), Count, examples));
            }
        }
    }

    /// <summary>What a text is made of: letters and digits, other visible characters, its dominant script, and its folded form.</summary>
    private readonly record struct Shape(int Letters, int NonSpace, string Script, string Folded)
    {
        public static Shape Of(string text)
        {
            int letters = 0, nonSpace = 0;
            Span<int> counts = stackalloc int[Scripts.Length];
            var folded = new StringBuilder(text.Length);
            foreach (var rune in text.EnumerateRunes())
            {
                if (Rune.IsWhiteSpace(rune))
                {
                    continue;
                }

                nonSpace++;
                if (!Rune.IsLetterOrDigit(rune))
                {
                    continue;
                }

                letters++;
                folded.Append(Rune.ToLowerInvariant(rune).ToString());
                if (Rune.IsLetter(rune))
                {
                    counts[ScriptOf(rune.Value)]++;
                }
            }

            int best = 0;
            for (int i = 1; i < counts.Length; i++)
            {
                best = counts[i] > counts[best] ? i : best;
            }

            string script = counts[best] == 0 ? "none" : Scripts[best];
            return new Shape(letters, nonSpace, script, folded.ToString());
        }

        private static readonly string[] Scripts = ["latin", "cyrillic", "arabic", "cjk", "other"];

        /// <summary>An index into <see cref="Scripts"/>.</summary>
        private static int ScriptOf(int c) => c switch
        {
            <= 0x024F or (>= 0x1E00 and <= 0x1EFF) => 0,
            (>= 0x0400 and <= 0x052F) => 1,
            (>= 0x0600 and <= 0x06FF) or (>= 0x0750 and <= 0x077F) or (>= 0x08A0 and <= 0x08FF) => 2,
            (>= 0x3040 and <= 0x30FF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x4E00 and <= 0x9FFF) or (>= 0xAC00 and <= 0xD7AF)
                or (>= 0xF900 and <= 0xFAFF) or (>= 0x20000 and <= 0x3134F) => 3,
            _ => 4,
        };
    }
}
