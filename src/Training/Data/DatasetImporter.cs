using System.Text;
using System.Text.Unicode;

namespace TextClassification.Training.Data;

/// <summary>
/// Turns an uploaded file of labelled text (CSV, TSV or JSON Lines) into normalized JSON Lines and a profile of it.
/// </summary>
public static class DatasetImporter
{
    // Header names are short; these bounds only stop a pathological first line from costing much memory.
    private const int MaxHeaderFields = 4096;
    private const int MaxHeaderFieldBytes = 4096;
    private const int MaxListedColumns = 20;
    private const int MaxBufferBytes = 512 * 1024 * 1024;

    /// <summary>
    /// Reads <paramref name="source"/> once, front to back, and writes every accepted row to
    /// <paramref name="normalizedOutput"/> as a UTF-8 JSON line <c>{"text":"…","label":"…"}</c>, with non-ASCII
    /// characters unescaped. Memory does not grow with the file's bytes: only the current row, the label counts and,
    /// when de-duplicating, a 16-byte hash per accepted row (some 40 bytes with the set's overhead) are held.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Rejection.</b> When <see cref="DatasetImportResult.IsRejected"/> is true the output has been partly written
    /// and must be discarded. The upload is refused when the start of the file (the first 8 KiB) holds NUL bytes or
    /// invalid UTF-8, when the text or label column is missing (the error names it and lists the columns found), when a
    /// quoted field is still open at the end of the file (the error names the line where its quote opened), when no row
    /// is valid, when fewer than two distinct labels remain, and, with <see cref="DatasetImportOptions.Strict"/>, when any
    /// row has a problem.
    /// </para>
    /// <para>
    /// <b>Rows.</b> A row with a problem is skipped and counted: empty or missing text or label, text over
    /// <see cref="DatasetImportOptions.MaxTextLength"/>, a CSV/TSV row with a different number of fields than the header,
    /// text after a closing quote, a malformed JSON line or one whose values have the wrong type, and invalid UTF-8 past
    /// the first 8 KiB (in the text or label field of a CSV/TSV row, anywhere in a JSON line; bytes of ignored columns
    /// are not decoded). Problems carry the 1-based physical line on which the row starts, counting LF line breaks,
    /// including those inside quoted fields. Blank lines are ignored, not counted.
    /// </para>
    /// <para>
    /// <b>Values.</b> Text and label are trimmed of Unicode white space at both ends and brought to Unicode NFC; inner
    /// white space and line breaks are kept. Then the length limit is checked, personal data in the text is redacted
    /// when asked (labels are never redacted), and duplicates of (text, label) are dropped. Lengths are counted in
    /// Unicode scalar values.
    /// </para>
    /// <para>
    /// <b>Bounds.</b> A CSV/TSV text or label field over 16 bytes per allowed character (plus 4 KiB) is too long without
    /// being decoded, since NFC never folds more than 9 UTF-8 bytes into one character; a JSON line over 64 bytes per
    /// allowed character plus 1 MiB is skipped as too long without being buffered.
    /// </para>
    /// </remarks>
    /// <param name="source">The upload, read once from its current position; not disposed.</param>
    /// <param name="fileName">The uploaded file's name, used only for its extension; may be null.</param>
    /// <param name="options">Which columns to read and how to clean them.</param>
    /// <param name="normalizedOutput">Receives the accepted rows; not disposed.</param>
    /// <param name="cancellationToken">Stops the import between reads.</param>
    public static async Task<DatasetImportResult> ImportAsync(
        Stream source,
        string? fileName,
        DatasetImportOptions options,
        Stream normalizedOutput,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(normalizedOutput);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTextLength, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxProblemsReported, nameof(options));

        using var input = new InputBuffer(source);
        await input.FillAsync(FormatDetector.TextCheckBytes + 3, cancellationToken);
        bool hadUtf16Bom = input.Data is [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..];
        if (input.Data.StartsWith(Encoding.UTF8.Preamble))
        {
            input.Advance(Encoding.UTF8.Preamble.Length);
        }

        string format = FormatDetector.Detect(input.Data, fileName);
        using var session = new ImportSession(options, normalizedOutput);
        var notText = FormatDetector.CheckText(input.Data, hadUtf16Bom, input.IsCompleted);
        if (notText is not null)
        {
            session.Reject(notText.Line, notText.Field, notText.Message);
        }
        else if (string.IsNullOrWhiteSpace(options.TextColumn) || (!options.TextOnly && string.IsNullOrWhiteSpace(options.LabelColumn)))
        {
            session.Reject(null, null, "The text and label column names must not be empty.");
        }
        else if (!options.TextOnly && options.TextColumn.Trim().Equals(options.LabelColumn.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            session.Reject(null, options.LabelColumn, $"The text and label columns must differ; both are '{options.TextColumn.Trim()}'.");
        }
        else if (input.Data.IndexOfAnyExcept(" \t\r\n"u8) < 0 && input.IsCompleted)
        {
            session.Reject(null, null, "The file is empty.");
        }
        else if (format == DatasetFormat.JsonLines)
        {
            await ImportJsonLinesAsync(input, options, session, cancellationToken);
        }
        else
        {
            await ImportDelimitedAsync(input, format == DatasetFormat.Tsv ? (byte)'\t' : (byte)',', options, session, cancellationToken);
        }

        return await session.CompleteAsync(format, cancellationToken);
    }

    private static async Task ImportDelimitedAsync(
        InputBuffer input, byte delimiter, DatasetImportOptions options, ImportSession session, CancellationToken cancellationToken)
    {
        using var reader = new DelimitedRecordReader(input, delimiter);
        reader.KeepLeadingFields(MaxHeaderFields, MaxHeaderFieldBytes);
        bool hasHeader;
        do
        {
            hasHeader = await reader.ReadRecordAsync(cancellationToken);
        }
        while (hasHeader && reader.IsBlank);

        if (!hasHeader)
        {
            RejectUnterminatedQuote(reader, session);
            return;
        }

        long headerLine = reader.RecordLine;
        int headerFields = reader.FieldCount;
        int keptColumns = Math.Min(headerFields, MaxHeaderFields);
        var columns = new List<string>(keptColumns);
        for (int i = 0; i < keptColumns; i++)
        {
            columns.Add(Encoding.UTF8.GetString(reader.Slot(i).Span).Trim());
        }

        int textIndex = FindColumn(columns, options.TextColumn, "text", headerLine, delimiter, session);
        int labelIndex = options.TextOnly ? textIndex : FindColumn(columns, options.LabelColumn, "label", headerLine, delimiter, session);
        if (textIndex < 0 || labelIndex < 0)
        {
            return;
        }

        int fieldCap = (int)Math.Min(MaxBufferBytes, (16L * options.MaxTextLength) + 4096);
        reader.KeepFields(options.TextOnly ? [textIndex] : [textIndex, labelIndex], fieldCap);
        while (await reader.ReadRecordAsync(cancellationToken))
        {
            if (reader.IsBlank)
            {
                continue;
            }

            long line = reader.RecordLine;
            // A text-only file has no label slot; the text stands in for it in the checks below and is not stored as one.
            FieldBuffer text = reader.Slot(0), label = reader.Slot(options.TextOnly ? 0 : 1);
            if (reader.FieldCount != headerFields)
            {
                session.SkipRow(line, $"The row has {reader.FieldCount} {Plural(reader.FieldCount, "field")}; the header has {headerFields}.");
            }
            else if (reader.HasTextAfterClosingQuote)
            {
                session.SkipRow(line, "A quoted field has characters after its closing quote; a quote inside a quoted field must be doubled (\"\").");
            }
            else if (text.Overflowed)
            {
                session.SkipRow(line, $"The text is longer than the limit of {options.MaxTextLength} characters.");
            }
            else if (label.Overflowed)
            {
                session.SkipRow(line, $"The label is longer than {fieldCap} bytes.");
            }
            else if (!Utf8.IsValid(text.Span) || !Utf8.IsValid(label.Span))
            {
                session.SkipRow(line, "The row is not valid UTF-8 text.");
            }
            else
            {
                session.AddRow(line, Encoding.UTF8.GetString(text.Span), options.TextOnly ? null : Encoding.UTF8.GetString(label.Span));
            }

            await session.FlushIfFullAsync(cancellationToken);
        }

        RejectUnterminatedQuote(reader, session);
    }

    private static async Task ImportJsonLinesAsync(
        InputBuffer input, DatasetImportOptions options, ImportSession session, CancellationToken cancellationToken)
    {
        string textProperty = options.TextColumn.Trim();
        string labelProperty = options.LabelColumn.Trim();
        int maxLineBytes = (int)Math.Min(MaxBufferBytes, (64L * options.MaxTextLength) + (1024 * 1024));
        var lines = new LineReader(input, maxLineBytes);

        // The first object stands in for a header: if it lacks a wanted property, the caller most likely named the
        // wrong one, and refusing at once beats skipping every row of a large file.
        List<string>? firstObjectProperties = [];
        while (await lines.ReadLineAsync(cancellationToken))
        {
            if (lines.IsTooLong)
            {
                session.SkipRow(lines.LineNumber, $"The line is longer than {maxLineBytes} bytes.");
                continue;
            }

            var kind = JsonLineParser.Parse(
                lines.Line, textProperty, labelProperty, firstObjectProperties,
                out string? text, out string? label, out bool hasText, out bool hasLabel, out string? problem);
            if (kind == JsonLineKind.Blank)
            {
                continue;
            }

            if (kind == JsonLineKind.Problem)
            {
                firstObjectProperties?.Clear();
                session.SkipRow(lines.LineNumber, problem!);
            }
            else
            {
                if (firstObjectProperties is not null)
                {
                    if (!hasText || (!hasLabel && !options.TextOnly))
                    {
                        RejectMissingProperties(lines.LineNumber, hasText, hasLabel || options.TextOnly, textProperty, labelProperty, firstObjectProperties, session);
                        return;
                    }

                    firstObjectProperties = null;
                }

                session.AddRow(lines.LineNumber, text, options.TextOnly ? null : label);
            }

            await session.FlushIfFullAsync(cancellationToken);
        }
    }

    private static void RejectMissingProperties(
        long line, bool hasText, bool hasLabel, string textProperty, string labelProperty, List<string> found, ImportSession session)
    {
        string properties = found.Count == 0 ? "it has none" : $"it has {ListNames(found)}";
        if (!hasText)
        {
            session.Reject(line, textProperty, $"The text property '{textProperty}' is missing from the first object (line {line}); {properties}.");
        }

        if (!hasLabel)
        {
            session.Reject(line, labelProperty, $"The label property '{labelProperty}' is missing from the first object (line {line}); {properties}.");
        }
    }

    private static int FindColumn(List<string> columns, string wanted, string role, long headerLine, byte delimiter, ImportSession session)
    {
        string name = wanted.Trim();
        int index = columns.FindIndex(c => c.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            string hint = columns.Count == 1 && columns[0].Contains(';', StringComparison.Ordinal)
                ? $" (the header has no {(delimiter == (byte)'\t' ? "tab" : "comma")} but has semicolons: only commas and tabs separate columns)"
                : string.Empty;
            session.Reject(headerLine, name,
                $"The {role} column '{name}' is missing; the header (line {headerLine}) has {Plural(columns.Count, "column")} {ListNames(columns)}{hint}.");
            return -1;
        }

        int again = columns.FindIndex(index + 1, c => c.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (again >= 0)
        {
            session.Reject(headerLine, name,
                $"The {role} column '{name}' appears more than once in the header (columns {index + 1} and {again + 1}), so which to read is ambiguous.");
            return -1;
        }

        return index;
    }

    private static void RejectUnterminatedQuote(DelimitedRecordReader reader, ImportSession session)
    {
        if (reader.UnterminatedQuoteLine is long line)
        {
            session.Reject(line, null,
                $"A quoted field opened on line {line} is never closed: the file ends inside it (an unterminated quote).");
        }
    }

    private static string ListNames(List<string> names)
    {
        string listed = string.Join(", ", names.Take(MaxListedColumns).Select(n => $"'{n}'"));
        return names.Count > MaxListedColumns ? $"{listed} and {names.Count - MaxListedColumns} more" : listed;
    }

    private static string Plural(int count, string noun) => count == 1 ? noun : noun + "s";
}
