using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace TextClassification.Training.Data;

/// <summary>The outcome of reading one JSON line.</summary>
internal enum JsonLineKind
{
    /// <summary>Nothing but white space: ignored, not a row.</summary>
    Blank,

    /// <summary>An object; its text and label may still be missing or empty, which the session checks.</summary>
    Row,

    /// <summary>Not usable as a row; the problem says why.</summary>
    Problem,
}

/// <summary>
/// Reads one line of a JSON Lines upload. The text must be a JSON string; the label a string or a number, a number
/// being kept exactly as written (<c>1</c> → "1", <c>1.0</c> → "1.0") so that numeric class ids work as labels as they
/// do in CSV. <c>null</c> counts as missing; booleans, arrays and objects are problems. Property names are matched
/// trimmed and ignoring case, like CSV headers; other properties are ignored, and a wanted one given twice is a problem.
/// </summary>
internal static class JsonLineParser
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static JsonLineKind Parse(
        ReadOnlySpan<byte> line,
        string textProperty,
        string labelProperty,
        List<string>? propertyNames,
        out string? text,
        out string? label,
        out bool hasText,
        out bool hasLabel,
        out string? problem)
    {
        text = label = problem = null;
        hasText = hasLabel = false;
        if (line.IndexOfAnyExcept(" \t\r"u8) < 0)
        {
            return JsonLineKind.Blank;
        }

        // The reader does not validate UTF-8 inside strings it is not asked to decode; checking first is cheap.
        if (!Utf8.IsValid(line))
        {
            problem = "The line is not valid UTF-8 text.";
            return JsonLineKind.Problem;
        }

        try
        {
            var reader = new Utf8JsonReader(line);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                problem = $"The line is JSON but not an object (it starts with {Describe(reader.TokenType)}); each line must be one object.";
                return JsonLineKind.Problem;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!.Trim();
                propertyNames?.Add(name);
                bool isText = name.Equals(textProperty, StringComparison.OrdinalIgnoreCase);
                bool isLabel = !isText && name.Equals(labelProperty, StringComparison.OrdinalIgnoreCase);
                reader.Read();
                if ((isText && hasText) || (isLabel && hasLabel))
                {
                    problem = $"The property '{name}' appears more than once.";
                    return JsonLineKind.Problem;
                }

                if (isText)
                {
                    hasText = true;
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        text = reader.GetString();
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        problem = $"The text ('{name}') must be a string, not {Describe(reader.TokenType)}.";
                        return JsonLineKind.Problem;
                    }
                }
                else if (isLabel)
                {
                    hasLabel = true;
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        label = reader.GetString();
                    }
                    else if (reader.TokenType == JsonTokenType.Number)
                    {
                        label = StrictUtf8.GetString(reader.ValueSpan);
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        problem = $"The label ('{name}') must be a string or a number, not {Describe(reader.TokenType)}.";
                        return JsonLineKind.Problem;
                    }
                }

                reader.Skip();
            }

            // Reading past the object makes the reader refuse anything but white space after it.
            reader.Read();
        }
        catch (JsonException e)
        {
            problem = $"The line is not valid JSON: {Reason(e)}";
            return JsonLineKind.Problem;
        }
        catch (InvalidOperationException)
        {
            // GetString refuses a \u escape that leaves a surrogate unpaired: such a string is not Unicode text.
            problem = "The line has a \\u escape for half of a surrogate pair, which is not a character.";
            return JsonLineKind.Problem;
        }

        return JsonLineKind.Row;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static string Reason(JsonException e)
    {
        // The reader's messages end in "LineNumber: 0 | BytePositionInLine: n.", which would contradict the line we
        // report; keep the reason and restate the position in the line's own terms.
        string message = e.Message;
        int location = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        string reason = (location >= 0 ? message[..location] : message).TrimEnd('.', ' ');
        return e.BytePositionInLine is long position ? $"{reason} (at byte {position + 1} of the line)." : $"{reason}.";
    }
}
