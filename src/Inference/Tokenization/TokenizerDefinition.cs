using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TextClassification.Inference.Tokenization;

/// <summary>
/// Everything a <see cref="TextTokenizer"/> needs: its settings and its vocabulary. Serialised as JSON next to (or
/// inside) the model it belongs to. For the <see cref="TokenizerKind.Words"/> kind the vocabulary is the learned words
/// and word <c>Vocabulary[i]</c> has id <c>i + 2</c>; for <see cref="TokenizerKind.WordPiece"/> it is the pretrained
/// model's vocab.txt in line order and <c>Vocabulary[i]</c> has id <c>i</c>.
/// </summary>
public sealed record TokenizerDefinition(TokenizerSettings Settings, IReadOnlyList<string> Vocabulary)
{
    /// <summary>
    /// The newest layout version this code reads; bumped when encoding would change for JSON an older build reads.
    /// Format 1 is the words tokenizer; format 2 added WordPiece.
    /// </summary>
    public const int CurrentFormat = 2;

    /// <summary>
    /// The format every WordPiece definition is written with. A build that reads only format 1 would ignore the kind
    /// it does not know and encode the text as words, silently wrong; format 2 makes it refuse the model instead.
    /// Words definitions stay format 1, so older builds still serve the models newer ones train.
    /// </summary>
    public const int WordPieceFormat = 2;

    /// <summary>The format every words definition is written with; its ids are fixed for good (see the golden tests).</summary>
    public const int WordsFormat = 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public int Format { get; init; } = Settings?.Kind == TokenizerKind.WordPiece ? WordPieceFormat : WordsFormat;

    /// <summary>
    /// A WordPiece tokenizer over a pretrained model's vocabulary, in id order (vocab.txt's line <c>i</c> has id
    /// <c>i</c>), with <paramref name="settings"/> of kind <see cref="TokenizerKind.WordPiece"/>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The settings are invalid or of another kind, or the vocabulary lacks <c>[PAD]</c> (as id 0), <c>[UNK]</c>,
    /// <c>[CLS]</c> or <c>[SEP]</c>, or lists a token twice.
    /// </exception>
    public static TokenizerDefinition WordPiece(IReadOnlyList<string> vocabulary, TokenizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Kind != TokenizerKind.WordPiece)
        {
            throw new ArgumentException($"WordPiece definitions take settings of kind {nameof(TokenizerKind.WordPiece)}; these are {settings.Kind}.", nameof(settings));
        }

        ThrowIfInvalid(settings);
        string[] tokens = [.. vocabulary];
        if (WordPieceEncoder.VocabularyProblem(tokens) is { } problem)
        {
            throw new ArgumentException(problem, nameof(vocabulary));
        }

        return new TokenizerDefinition(settings, tokens);
    }

    /// <inheritdoc cref="WordPiece(IReadOnlyList{string}, TokenizerSettings)"/>
    /// <param name="vocabTxt">A vocab.txt stream (see <see cref="ReadVocabulary"/>); left open.</param>
    /// <param name="settings">Settings of kind <see cref="TokenizerKind.WordPiece"/>.</param>
    public static TokenizerDefinition WordPiece(Stream vocabTxt, TokenizerSettings settings) => WordPiece(ReadVocabulary(vocabTxt), settings);

    /// <summary>
    /// Reads a BERT vocab.txt: UTF-8, one token per line, line <c>i</c> (from 0) is id <c>i</c>. Lines end with
    /// <c>\n</c> or <c>\r\n</c> (the copy inside the all-MiniLM-L6-v2 package has Windows line ends); nothing else is
    /// trimmed, and a byte order mark is skipped. The stream is left open.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is not UTF-8.</exception>
    public static IReadOnlyList<string> ReadVocabulary(Stream vocabTxt)
    {
        ArgumentNullException.ThrowIfNull(vocabTxt);
        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        using var reader = new StreamReader(vocabTxt, strictUtf8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        var tokens = new List<string>(capacity: 32_768);
        try
        {
            while (reader.ReadLine() is { } line)
            {
                tokens.Add(line);
            }
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"The vocabulary is not UTF-8 (after line {tokens.Count}).", e);
        }

        return tokens;
    }

    /// <summary>
    /// Learns the vocabulary from training texts: every word the tokenizer segments (punctuation and single characters
    /// of unsegmented scripts included), at least <see cref="TokenizerSettings.MinCount"/> times, the
    /// <see cref="TokenizerSettings.MaxVocabularySize"/> most frequent first (ties in ordinal order, so the result does
    /// not depend on the order of the texts).
    /// </summary>
    /// <param name="texts">The training texts.</param>
    /// <param name="settings">The tokenizer's settings (a words kind).</param>
    /// <param name="knownWords">
    /// Words to keep whether or not the texts have them, after the learned ones while the vocabulary has room, in the
    /// order given: the words of pretrained word vectors, so that a word the training data lacks still gets its vector.
    /// Expected in the normalized form (lower case when <see cref="TokenizerSettings.CaseFold"/> is on).
    /// </param>
    public static TokenizerDefinition Learn(IEnumerable<string> texts, TokenizerSettings settings, IEnumerable<string>? knownWords = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Kind == TokenizerKind.WordPiece)
        {
            throw new ArgumentException("A WordPiece vocabulary is not learned: it comes with its pretrained model (vocab.txt); see TokenizerDefinition.WordPiece.", nameof(settings));
        }

        ThrowIfInvalid(settings);

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
            .ToList();
        if (knownWords is not null)
        {
            var learned = new HashSet<string>(vocabulary, StringComparer.Ordinal);
            vocabulary.AddRange(knownWords.Where(learned.Add).Take(settings.MaxVocabularySize - vocabulary.Count));
        }

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

        if (definition.Format is < WordsFormat or > CurrentFormat)
        {
            throw new InvalidDataException($"The tokenizer definition has format {definition.Format}; this build reads formats {WordsFormat} to {CurrentFormat}.");
        }

        if (definition.Settings.Kind == TokenizerKind.WordPiece)
        {
            if (definition.Format < WordPieceFormat)
            {
                throw new InvalidDataException($"The tokenizer definition is WordPiece but has format {definition.Format}; WordPiece definitions have format {WordPieceFormat}.");
            }

            if (WordPieceEncoder.VocabularyProblem(definition.Vocabulary) is { } problem)
            {
                throw new InvalidDataException(problem);
            }
        }

        return definition;
    }

    /// <summary>Value equality over the vocabulary's contents too, so a definition read back equals the one written.</summary>
    public bool Equals(TokenizerDefinition? other) =>
        other is not null && Format == other.Format && Settings == other.Settings && Vocabulary.SequenceEqual(other.Vocabulary, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Format, Settings, Vocabulary.Count);

    private static void ThrowIfInvalid(TokenizerSettings settings)
    {
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid tokenizer settings: {string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}"))}", nameof(settings));
        }
    }
}
