using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TextClassification.Inference.Tokenization;

/// <summary>
/// Everything a <see cref="TextTokenizer"/> needs: its settings and the learned words. Serialised as JSON next to
/// the model it belongs to; word <c>Vocabulary[i]</c> has id <c>i + 2</c>.
/// </summary>
public sealed record TokenizerDefinition(TokenizerSettings Settings, IReadOnlyList<string> Vocabulary)
{
    /// <summary>The layout version this code writes and reads; bumped when encoding would change for the same JSON.</summary>
    public const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public int Format { get; init; } = CurrentFormat;

    /// <summary>
    /// Learns the vocabulary from training texts: every word the tokenizer segments (punctuation and single characters
    /// of unsegmented scripts included), at least <see cref="TokenizerSettings.MinCount"/> times, the
    /// <see cref="TokenizerSettings.MaxVocabularySize"/> most frequent first (ties in ordinal order, so the result does
    /// not depend on the order of the texts).
    /// </summary>
    public static TokenizerDefinition Learn(IEnumerable<string> texts, TokenizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(settings);
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid tokenizer settings: {string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}"))}", nameof(settings));
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        char[]? rented = null;
        try
        {
            foreach (var text in texts)
            {
                var normalized = TextNormalizer.Normalize(text, settings.CaseFold, Span<char>.Empty, ref rented);
                var words = new WordSegmenter(normalized);
                while (words.MoveNext())
                {
                    ref int count = ref CollectionsMarshal.GetValueRefOrAddDefault(lookup, normalized.Slice(words.Start, words.Length), out _);
                    count++;
                }
            }
        }
        finally
        {
            TextNormalizer.Return(rented);
        }

        var vocabulary = counts
            .Where(pair => pair.Value >= settings.MinCount)
            .OrderByDescending(pair => pair.Value)
            .ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .Take(settings.MaxVocabularySize)
            .Select(pair => pair.Key)
            .ToArray();
        return new TokenizerDefinition(settings, vocabulary);
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <exception cref="InvalidDataException">The JSON is not a tokenizer definition this code can read.</exception>
    public static TokenizerDefinition FromJson(string json)
    {
        TokenizerDefinition? definition;
        try
        {
            definition = JsonSerializer.Deserialize<TokenizerDefinition>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("The tokenizer definition is not valid JSON.", e);
        }

        if (definition?.Settings is null || definition.Vocabulary is null)
        {
            throw new InvalidDataException("The tokenizer definition lacks its settings or vocabulary.");
        }

        if (definition.Format != CurrentFormat)
        {
            throw new InvalidDataException($"The tokenizer definition has format {definition.Format}; this build reads format {CurrentFormat}.");
        }

        return definition;
    }

    /// <summary>Value equality over the vocabulary's contents too, so a definition read back equals the one written.</summary>
    public bool Equals(TokenizerDefinition? other) =>
        other is not null && Format == other.Format && Settings == other.Settings && Vocabulary.SequenceEqual(other.Vocabulary, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Format, Settings, Vocabulary.Count);
}
