namespace TextClassification.Inference.Tokenization;

/// <summary>The ids of BERT's special tokens in a WordPiece vocabulary.</summary>
/// <param name="Padding">The id of <c>[PAD]</c>: always 0, the <see cref="TextTokenizer.PaddingId"/> of every batch.</param>
/// <param name="Unknown">The id of <c>[UNK]</c>, given to a word that cannot be split into known pieces.</param>
/// <param name="Classifier">The id of <c>[CLS]</c>, first in every row.</param>
/// <param name="Separator">The id of <c>[SEP]</c>, last in every row.</param>
public sealed record WordPieceSpecialIds(long Padding, long Unknown, long Classifier, long Separator);

/// <summary>
/// BERT's tokenizer over one vocabulary: <see cref="BertBasicTokenizer"/>, then greedy longest-match-first WordPiece
/// per word, between <c>[CLS]</c> and <c>[SEP]</c>. Immutable and safe to share between threads.
/// </summary>
/// <remarks>
/// Written here rather than taken from Microsoft.ML.Tokenizers 2.0.1, whose <c>BertTokenizer</c> was run on the
/// all-MiniLM-L6-v2 vocabulary beside this one and is not BERT: its pre-tokenizer drops characters that are neither
/// letters, digits nor Unicode punctuation (the ASCII symbols <c>$ ^ ` ~ |</c>, emoji, <c>Ⅻ</c>) where BERT keeps
/// them as tokens or <c>[UNK]</c>, keeps <c>_</c> inside words, and splits words at U+200B where BERT deletes it; by
/// default it neither strips accents for an uncased vocabulary nor treats a typed <c>[SEP]</c> as text; and it throws
/// on a lone surrogate. It also reads its vocabulary only from a file or stream rather than from the definition.
/// </remarks>
internal sealed class WordPieceEncoder
{
    public const string PaddingToken = "[PAD]";
    public const string UnknownToken = "[UNK]";
    public const string ClassifierToken = "[CLS]";
    public const string SeparatorToken = "[SEP]";

    /// <summary>BERT's <c>max_input_chars_per_word</c>: a longer word, counted in code points, is one <c>[UNK]</c>.</summary>
    public const int MaxWordChars = 100;

    private const string ContinuationPrefix = "##";

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> pieces;
    private readonly bool lowerCase;
    private readonly bool stripAccents;
    private readonly bool splitCjk;
    private readonly IReadOnlyList<string> vocabulary;

    /// <exception cref="ArgumentException">The vocabulary has a problem <see cref="VocabularyProblem"/> names.</exception>
    public WordPieceEncoder(TokenizerDefinition definition)
    {
        vocabulary = definition.Vocabulary;
        var index = Index(vocabulary, out string? problem)
            ?? throw new ArgumentException(problem, nameof(definition));
        pieces = index.GetAlternateLookup<ReadOnlySpan<char>>();
        SpecialIds = new WordPieceSpecialIds(index[PaddingToken], index[UnknownToken], index[ClassifierToken], index[SeparatorToken]);
        lowerCase = definition.Settings.CaseFold;
        stripAccents = definition.Settings.StripsAccents;
        splitCjk = definition.Settings.SplitCjkCharacters;
    }

    public WordPieceSpecialIds SpecialIds { get; }

    /// <summary>Why a vocabulary cannot serve as a WordPiece vocabulary, or null when it can.</summary>
    public static string? VocabularyProblem(IReadOnlyList<string> vocabulary)
    {
        Index(vocabulary, out string? problem);
        return problem;
    }

    /// <summary>
    /// Writes <c>[CLS]</c>, the text's word pieces and <c>[SEP]</c> into <paramref name="ids"/> (at least 2 long), cutting
    /// the pieces to fit; returns how many ids it wrote.
    /// </summary>
    public int Encode(ReadOnlySpan<char> text, Span<long> ids)
    {
        ids[0] = SpecialIds.Classifier;
        int count = 1;
        int limit = ids.Length - 1;
        char[]? rented = null;
        char[]? rented2 = null;
        try
        {
            var normalized = BertBasicTokenizer.Normalize(
                text, lowerCase, stripAccents, stackalloc char[TextTokenizer.StackChars], ref rented, stackalloc char[TextTokenizer.StackChars], ref rented2);
            Span<long> word = stackalloc long[MaxWordChars];
            var words = new BertWordSplitter(normalized, splitCjk);
            while (count < limit && words.MoveNext())
            {
                int length = Math.Min(EncodeWord(normalized.Slice(words.Start, words.Length), word), limit - count);
                word[..length].CopyTo(ids[count..]);
                count += length;
            }
        }
        finally
        {
            TextNormalizer.Return(rented);
            TextNormalizer.Return(rented2);
        }

        ids[count++] = SpecialIds.Separator;
        return count;
    }

    /// <summary>The word pieces of a text as vocabulary entries, without <c>[CLS]</c>, <c>[SEP]</c> or truncation.</summary>
    public List<string> Pieces(ReadOnlySpan<char> text)
    {
        var result = new List<string>();
        char[]? rented = null;
        char[]? rented2 = null;
        try
        {
            var normalized = BertBasicTokenizer.Normalize(
                text, lowerCase, stripAccents, stackalloc char[TextTokenizer.StackChars], ref rented, stackalloc char[TextTokenizer.StackChars], ref rented2);
            Span<long> word = stackalloc long[MaxWordChars];
            var words = new BertWordSplitter(normalized, splitCjk);
            while (words.MoveNext())
            {
                int length = EncodeWord(normalized.Slice(words.Start, words.Length), word);
                foreach (long id in word[..length])
                {
                    result.Add(vocabulary[(int)id]);
                }
            }
        }
        finally
        {
            TextNormalizer.Return(rented);
            TextNormalizer.Return(rented2);
        }

        return result;
    }

    /// <summary>
    /// Greedy longest-match-first: from the start of the word, the longest prefix in the vocabulary, then the longest
    /// <c>##</c>-prefixed continuation from where it ended, and so on. A word with a remainder that no piece starts,
    /// or longer than <see cref="MaxWordChars"/>, is the single <c>[UNK]</c>. Writes at most one id per code point
    /// into <paramref name="ids"/> and returns how many.
    /// </summary>
    private int EncodeWord(ReadOnlySpan<char> word, Span<long> ids)
    {
        if (word.Length > MaxWordChars && CodePoints(word) > MaxWordChars)
        {
            ids[0] = SpecialIds.Unknown;
            return 1;
        }

        // "##" followed by the rest of the word, so a continuation is looked up as one span.
        Span<char> continuation = stackalloc char[ContinuationPrefix.Length + (2 * MaxWordChars)];
        ContinuationPrefix.CopyTo(continuation);
        int count = 0;
        int start = 0;
        while (start < word.Length)
        {
            var rest = word[start..];
            if (start > 0)
            {
                rest.CopyTo(continuation[ContinuationPrefix.Length..]);
            }

            int end = rest.Length;
            int id = -1;
            while (end > 0)
            {
                var candidate = start == 0 ? rest[..end] : continuation[..(ContinuationPrefix.Length + end)];
                if (pieces.TryGetValue(candidate, out id))
                {
                    break;
                }

                // Step back one code point, never into the middle of a surrogate pair.
                end -= end >= 2 && char.IsLowSurrogate(rest[end - 1]) && char.IsHighSurrogate(rest[end - 2]) ? 2 : 1;
            }

            if (end == 0)
            {
                ids[0] = SpecialIds.Unknown;
                return 1;
            }

            ids[count++] = id;
            start += end;
        }

        return count;
    }

    private static int CodePoints(ReadOnlySpan<char> text)
    {
        int count = text.Length;
        for (int i = 1; i < text.Length; i++)
        {
            if (char.IsLowSurrogate(text[i]) && char.IsHighSurrogate(text[i - 1]))
            {
                count--;
            }
        }

        return count;
    }

    private static Dictionary<string, int>? Index(IReadOnlyList<string> vocabulary, out string? problem)
    {
        var index = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Count; id++)
        {
            string token = vocabulary[id];
            if (token is null)
            {
                problem = $"The WordPiece vocabulary has no token at id {id}.";
                return null;
            }

            if (!index.TryAdd(token, id))
            {
                problem = $"The WordPiece vocabulary lists \"{token}\" twice, as ids {index[token]} and {id}; every token must have one id.";
                return null;
            }
        }

        string[] missing = [.. new[] { PaddingToken, UnknownToken, ClassifierToken, SeparatorToken }.Where(token => !index.ContainsKey(token))];
        if (missing.Length > 0)
        {
            problem = $"The WordPiece vocabulary lacks {string.Join(", ", missing)}; a BERT vocabulary has [PAD], [UNK], [CLS] and [SEP].";
            return null;
        }

        if (index[PaddingToken] != TextTokenizer.PaddingId)
        {
            problem = $"The WordPiece vocabulary has [PAD] as id {index[PaddingToken]}; it must be the first line (id {TextTokenizer.PaddingId}), the padding id of every batch.";
            return null;
        }

        problem = null;
        return index;
    }
}
