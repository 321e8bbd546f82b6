using System.Buffers;
using System.Text.Unicode;

namespace TextClassification.Training.Data;

/// <summary>Looks at the start of an upload: is it UTF-8 text at all, and which format is it in.</summary>
internal static class FormatDetector
{
    /// <summary>How much of the file must be clean UTF-8 without NUL bytes for it to count as text.</summary>
    public const int TextCheckBytes = 8 * 1024;

    private static readonly SearchValues<byte> BlankBytes = SearchValues.Create(" \t\r\n"u8);

    /// <summary>
    /// Picks the format: a <c>.jsonl</c>/<c>.ndjson</c> name or a first non-blank line starting with <c>{</c> means
    /// JSON Lines; otherwise a <c>.tsv</c> name, or a first line with a tab and no comma outside quotes, means TSV;
    /// anything else is read as CSV. The content wins over a <c>.csv</c> name, which is often given to any text export.
    /// </summary>
    public static string Detect(ReadOnlySpan<byte> head, string? fileName)
    {
        string extension = Path.GetExtension(fileName ?? string.Empty).ToLowerInvariant();
        if (extension is ".jsonl" or ".ndjson")
        {
            return DatasetFormat.JsonLines;
        }

        var firstLine = FirstNonBlankLine(head);
        if (!firstLine.IsEmpty && firstLine[0] == (byte)'{')
        {
            return DatasetFormat.JsonLines;
        }

        if (extension == ".tsv" || (firstLine.Contains((byte)'\t') && !HasCommaOutsideQuotes(firstLine)))
        {
            return DatasetFormat.Tsv;
        }

        return DatasetFormat.Csv;
    }

    /// <summary>
    /// Why the start of the file is not UTF-8 text, or null when it is. <paramref name="head"/> is the start of the
    /// file after any UTF-8 byte order mark; <paramref name="isWholeFile"/> says whether the file ends within it (else
    /// a multi-byte character cut at its end is not an error).
    /// </summary>
    public static DatasetImportError? CheckText(ReadOnlySpan<byte> head, bool hadUtf16Bom, bool isWholeFile)
    {
        const string NotText = "The file is not UTF-8 text";
        if (hadUtf16Bom)
        {
            return new DatasetImportError(1, null, $"{NotText}: it starts with a UTF-16 byte order mark. Save it as UTF-8.");
        }

        var window = head[..Math.Min(head.Length, TextCheckBytes)];
        int nul = window.IndexOf((byte)0);
        if (nul >= 0)
        {
            return new DatasetImportError(LineAt(window, nul), null,
                $"{NotText}: it contains NUL bytes (byte {nul}), as binary files and UTF-16 text do.");
        }

        int invalid = FirstInvalidUtf8(window, isWholeFile && window.Length == head.Length);
        if (invalid >= 0)
        {
            return new DatasetImportError(LineAt(window, invalid), null,
                $"{NotText}: the bytes at offset {invalid} are not valid UTF-8 (is it Latin-1 or Windows-1252?). Save it as UTF-8.");
        }

        return null;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes, bool isFinalBlock)
    {
        int offset = 0;
        Span<char> scratch = stackalloc char[1024];
        while (offset < bytes.Length)
        {
            var status = Utf8.ToUtf16(bytes[offset..], scratch, out int read, out _, replaceInvalidSequences: false, isFinalBlock);
            offset += read;
            switch (status)
            {
                case OperationStatus.Done:
                case OperationStatus.NeedMoreData:
                    // NeedMoreData: a character cut by the end of the window; the rest of the file may complete it.
                    return -1;
                case OperationStatus.InvalidData:
                    return offset;
                default:
                    break;
            }
        }

        return -1;
    }

    private static long LineAt(ReadOnlySpan<byte> bytes, int offset) => bytes[..offset].Count((byte)'\n') + 1;

    private static ReadOnlySpan<byte> FirstNonBlankLine(ReadOnlySpan<byte> head)
    {
        int start = head.IndexOfAnyExcept(BlankBytes);
        if (start < 0)
        {
            return [];
        }

        var rest = head[start..];
        int end = rest.IndexOf((byte)'\n');
        return end < 0 ? rest : rest[..end];
    }

    private static bool HasCommaOutsideQuotes(ReadOnlySpan<byte> line)
    {
        bool quoted = false;
        foreach (byte b in line)
        {
            if (b == (byte)'"')
            {
                quoted = !quoted;
            }
            else if (b == (byte)',' && !quoted)
            {
                return true;
            }
        }

        return false;
    }
}
