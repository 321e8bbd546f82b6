using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace TextClassification.Training.Data;

/// <summary>
/// The format-independent half of an import: each row the parsers produce is normalized, checked, redacted,
/// de-duplicated, written and profiled here, and the rejection rules are applied at the end.
/// </summary>
internal sealed class ImportSession : IDisposable
{
    private readonly DatasetImportOptions _options;
    private readonly string _textColumn;
    private readonly string _labelColumn;
    private readonly NormalizedRowWriter _writer;
    private readonly Dictionary<string, int> _labelCounts = new(StringComparer.Ordinal);
    private DatasetQualityCollector? _quality;

    // 128 bits of SHA-256 over the row's output line, which encodes (text, label) one-to-one. SHA-256 because
    // System.IO.Hashing (XxHash128) is a package, not part of the shared framework; SHA-256 is hardware-accelerated
    // and costs little next to parsing (CLINC150's 15,100 rows import in about 25 ms).
    private readonly HashSet<UInt128> _seen = [];
    private readonly List<DatasetRowProblem> _problems = [];
    private readonly List<DatasetImportError> _errors = [];
    private int _rowCount;
    private int _rowsSkipped;
    private int _duplicates;
    private int _email, _phone, _card, _iban;
    private int _minLength = int.MaxValue;
    private int _maxLength;
    private long _totalLength;

    public ImportSession(DatasetImportOptions options, Stream output)
    {
        _options = options;
        _textColumn = options.TextColumn?.Trim() ?? string.Empty;
        _labelColumn = options.LabelColumn?.Trim() ?? string.Empty;
        _writer = new NormalizedRowWriter(output);
    }

    /// <summary>A rejection has been recorded; the parsers stop at the first structural one.</summary>
    public bool IsRejected => _errors.Count > 0;

    public void Reject(long? line, string? field, string message) => _errors.Add(new DatasetImportError(line, field, message));

    public void SkipRow(long line, string message)
    {
        _rowsSkipped++;
        if (_problems.Count < _options.MaxProblemsReported)
        {
            _problems.Add(new DatasetRowProblem(line, message));
        }
    }

    /// <summary>
    /// Takes one row's raw values (null when absent). The row is accepted, skipped with a problem, or dropped as a
    /// duplicate; the caller flushes with <see cref="FlushIfFullAsync"/> between rows.
    /// </summary>
    public void AddRow(long line, string? rawText, string? rawLabel)
    {
        string text = Normalize(rawText);
        if (text.Length == 0)
        {
            SkipRow(line, $"The text ('{_textColumn}') is missing or empty.");
            return;
        }

        string label = Normalize(rawLabel);
        if (label.Length == 0 && !_options.TextOnly)
        {
            SkipRow(line, $"The label ('{_labelColumn}') is missing or empty.");
            return;
        }

        if (text.Contains('\0', StringComparison.Ordinal) || label.Contains('\0', StringComparison.Ordinal))
        {
            SkipRow(line, "The row contains a NUL character, which text never does.");
            return;
        }

        // Measured before redaction so that whether a row is accepted does not depend on RedactPii.
        int length = CountScalars(text);
        if (length > _options.MaxTextLength)
        {
            SkipRow(line, $"The text is {length} characters long; the limit is {_options.MaxTextLength}.");
            return;
        }

        var found = PiiRedactionCounts.None;
        if (_options.RedactPii)
        {
            text = PiiRedactor.Redact(text, out found);
            if (found.Total > 0)
            {
                length = CountScalars(text);
            }
        }

        var written = _writer.Append(text, label);
        if (_options.Dedupe)
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(written, hash);
            if (!_seen.Add(MemoryMarshal.Read<UInt128>(hash)))
            {
                _writer.RemoveLast(written.Length);
                _duplicates++;
                return;
            }
        }

        // Counted for accepted rows only, so the counts describe the stored dataset.
        _email += found.Email;
        _phone += found.Phone;
        _card += found.Card;
        _iban += found.Iban;
        _rowCount++;
        if (!_options.TextOnly)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(_labelCounts, label, out _)++;
        }

        (_quality ??= new DatasetQualityCollector(_options.MinExamplesPerLabel)).Add(line, text, label, length);
        _minLength = Math.Min(_minLength, length);
        _maxLength = Math.Max(_maxLength, length);
        _totalLength += length;
    }

    public ValueTask FlushIfFullAsync(CancellationToken cancellationToken) => _writer.FlushIfFullAsync(cancellationToken);

    /// <summary>Flushes the output, applies the whole-file rules and builds the result.</summary>
    public async Task<DatasetImportResult> CompleteAsync(string format, CancellationToken cancellationToken)
    {
        await _writer.FlushAsync(cancellationToken);

        // A structural rejection (not text, a missing column, a runaway quote) says all there is to say; the content
        // rules below would only restate it.
        if (!IsRejected)
        {
            ApplyContentRules();
        }

        var labels = _labelCounts
            .OrderByDescending(pair => pair.Value)
            .ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new DatasetLabelCount(pair.Key, pair.Value))
            .ToList();
        return new DatasetImportResult
        {
            Format = format,
            RowCount = _rowCount,
            RowsSkipped = _rowsSkipped,
            DuplicatesRemoved = _duplicates,
            Pii = new PiiRedactionCounts(_email, _phone, _card, _iban),
            Labels = labels,
            Quality = (_quality ?? new DatasetQualityCollector(_options.MinExamplesPerLabel)).Build(labels),
            TextLength = _rowCount == 0
                ? TextLengthStatistics.Empty
                : new TextLengthStatistics(_minLength, (double)_totalLength / _rowCount, _maxLength),
            Problems = _problems,
            Errors = _errors,
        };
    }

    public void Dispose() => _writer.Dispose();

    private void ApplyContentRules()
    {
        if (_options.Strict && _rowsSkipped > 0)
        {
            var first = _problems.Count > 0 ? _problems[0] : null;
            Reject(first?.Line, null, first is null
                ? $"Strict mode rejects any row with a problem, and {_rowsSkipped} rows have one."
                : $"Strict mode rejects any row with a problem, and {_rowsSkipped} {(_rowsSkipped == 1 ? "row has" : "rows have")} one; the first, on line {first.Line}: {first.Message}");
            foreach (var problem in _problems)
            {
                Reject(problem.Line, null, problem.Message);
            }
        }

        if (_rowCount == 0)
        {
            Reject(null, null, _rowsSkipped > 0
                ? $"The file has no valid rows: all {_rowsSkipped} rows have problems (see the errors or problems for their lines)."
                : "The file has no valid rows: it holds no data rows.");
        }
        else if (_labelCounts.Count < 2 && !_options.TextOnly)
        {
            Reject(null, _labelColumn,
                $"The file has only 1 distinct label ('{_labelCounts.Keys.First()}'); a classifier needs at least 2.");
        }
    }

    /// <summary>
    /// Trims Unicode white space from both ends and applies NFC, so that text typed with precomposed or combining
    /// accents is stored, compared and measured alike. NFC leaves CJK, emoji, Arabic and Hebrew text as it is (they are
    /// already in NFC in practice) and, unlike NFKC, never rewrites characters such as full-width forms or ligatures.
    /// </summary>
    private static string Normalize(string? value)
    {
        if (value is null)
        {
            return string.Empty;
        }

        string trimmed = value.Trim();
        return trimmed.IsNormalized(NormalizationForm.FormC) ? trimmed : trimmed.Normalize(NormalizationForm.FormC);
    }

    /// <summary>Unicode scalar values in a valid UTF-16 string: its length less one per surrogate pair.</summary>
    private static int CountScalars(string text)
    {
        var span = text.AsSpan();
        int firstSurrogate = span.IndexOfAnyInRange('\uD800', '\uDBFF');
        if (firstSurrogate < 0)
        {
            return span.Length;
        }

        int pairs = 0;
        foreach (char c in span[firstSurrogate..])
        {
            if (char.IsHighSurrogate(c))
            {
                pairs++;
            }
        }

        return span.Length - pairs;
    }
}
