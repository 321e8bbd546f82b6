using System.Runtime.CompilerServices;
using System.Text.Json;

namespace TextClassification.Training.Data;

/// <summary>Reads the normalized JSON Lines that <see cref="DatasetImporter"/> writes, row by row, in file order.</summary>
public static class DatasetRowReader
{
    /// <summary>
    /// Streams the rows of a normalized dataset without holding the file in memory. Blank lines are ignored; other
    /// properties on a line are ignored too, so the format can grow without breaking readers.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// A line is not a JSON object with string <c>text</c> and <c>label</c> properties: the file is not one the importer
    /// wrote, or it was damaged.
    /// </exception>
    public static async IAsyncEnumerable<LabelledText> ReadAsync(
        Stream normalized, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalized);
        using var input = new InputBuffer(normalized);
        // The importer bounds every line it writes, so no cap is needed to protect memory here.
        var lines = new LineReader(input, int.MaxValue);
        while (await lines.ReadLineAsync(cancellationToken))
        {
            var row = Parse(lines.Line, lines.LineNumber);
            if (row is not null)
            {
                yield return row;
            }
        }
    }

    private static LabelledText? Parse(ReadOnlySpan<byte> line, long lineNumber)
    {
        if (line.IndexOfAnyExcept(" \t\r"u8) < 0)
        {
            return null;
        }

        string? text = null;
        string? label = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid(lineNumber, "it is not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isText = reader.ValueTextEquals("text"u8);
                bool isLabel = !isText && reader.ValueTextEquals("label"u8);
                reader.Read();
                if (isText || isLabel)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Invalid(lineNumber, $"its {(isText ? "text" : "label")} is not a string");
                    }

                    if (isText)
                    {
                        text = reader.GetString();
                    }
                    else
                    {
                        label = reader.GetString();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            // Reading past the object makes the reader refuse anything but whitespace after it.
            reader.Read();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw Invalid(lineNumber, "it is not valid JSON", e);
        }

        if (text is null || label is null)
        {
            throw Invalid(lineNumber, $"it has no {(text is null ? "text" : "label")}");
        }

        return new LabelledText(text, label);
    }

    private static InvalidDataException Invalid(long lineNumber, string reason, Exception? inner = null) =>
        new($"Line {lineNumber} of the normalized dataset is unreadable: {reason}.", inner);
}
