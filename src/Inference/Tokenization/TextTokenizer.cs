using System.Runtime.CompilerServices;

namespace TextClassification.Inference.Tokenization;

/// <summary>
/// Turns text into the <c>input_ids</c> every model takes, identically in training and in serving. Immutable and
/// safe to share between threads; encoding allocates nothing for texts up to <see cref="StackChars"/> characters
/// (WordPiece: nothing for those that need no accent stripping).
/// </summary>
/// <remarks>
/// <para>
/// A <see cref="TokenizerKind.WordPiece"/> definition encodes as BERT does (see <see cref="BertBasicTokenizer"/> and
/// <see cref="WordPieceEncoder"/>): <c>[CLS]</c>, the word pieces, <c>[SEP]</c>, with the pieces cut so that the
/// whole fits <see cref="MaxSequenceLength"/>; an empty text is <c>[CLS] [SEP]</c>. Its ids are vocab.txt's lines,
/// <see cref="PaddingId"/> is its <c>[PAD]</c>, and <see cref="SpecialIds"/> names the others.
/// </para>
/// <para>
/// The <see cref="TokenizerKind.Words"/> pipeline: NFKC, case folding, word segmentation by Unicode category (see
/// <see cref="WordSegmenter"/>), then per word, in text order: its id (learned word or <see cref="UnknownId"/>), the
/// hashed pair with the previous word when <see cref="TokenizerSettings.WordBigramBuckets"/> is on, and the hashed
/// character n-grams of <c>&lt;word&gt;</c> as <see cref="TokenizerSettings.CharNGrams"/> says. The sequence is cut at
/// <see cref="MaxSequenceLength"/>; a text that yields nothing encodes as the single id <see cref="UnknownId"/>, so
/// every row has at least one real position (masked pooling and attention never divide by an empty row).
/// </para>
/// </remarks>
public sealed class TextTokenizer
{
    /// <summary>The id batches are padded with, for both kinds (a WordPiece vocabulary must have <c>[PAD]</c> as id 0).</summary>
    public const long PaddingId = 0;

    /// <summary>The id of a word outside the vocabulary, for the words kind; WordPiece's is <see cref="SpecialIds"/>' Unknown.</summary>
    public const long UnknownId = 1;

    /// <summary>The id of <c>Vocabulary[0]</c>, for the words kind.</summary>
    public const int FirstWordId = 2;

    /// <summary>Longest character n-gram the settings may ask for.</summary>
    public const int MaxCharNGram = 8;

    /// <summary>Texts up to this many characters are normalized on the stack.</summary>
    public const int StackChars = 512;

    // N-grams are taken from the first MaxNGramWord characters of a word; longer "words" are URLs or noise.
    private const int MaxNGramWord = 48;
    private const uint BigramSeed = 0x811C9DC5;
    private const uint NGramSeed = 0x01000193 ^ 0x811C9DC5;

    private readonly WordPieceEncoder? wordPiece;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> words;
    private readonly bool caseFold;
    private readonly CharNGramMode charNGrams;
    private readonly int nGramMin;
    private readonly int nGramMax;
    private readonly uint bigramBuckets;
    private readonly uint nGramBuckets;
    private readonly long bigramOffset;
    private readonly long nGramOffset;

    /// <exception cref="ArgumentException">The settings are invalid, or the vocabulary lists a word twice or, for WordPiece, lacks a special token.</exception>
    public TextTokenizer(TokenizerDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = definition.Settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid tokenizer settings: {string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}"))}", nameof(definition));
        }

        Definition = definition;
        var settings = definition.Settings;
        MaxSequenceLength = settings.MaxSequenceLength;
        if (settings.Kind == TokenizerKind.WordPiece)
        {
            wordPiece = new WordPieceEncoder(definition);
            VocabularySize = definition.Vocabulary.Count;
            return;
        }

        var vocabulary = new Dictionary<string, int>(definition.Vocabulary.Count, StringComparer.Ordinal);
        for (int i = 0; i < definition.Vocabulary.Count; i++)
        {
            if (!vocabulary.TryAdd(definition.Vocabulary[i], i))
            {
                throw new ArgumentException($"The vocabulary lists \"{definition.Vocabulary[i]}\" twice.", nameof(definition));
            }
        }

        words = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        caseFold = settings.CaseFold;
        charNGrams = settings.CharNGrams;
        nGramMin = settings.CharNGramMin;
        nGramMax = settings.CharNGramMax;
        bigramBuckets = (uint)settings.WordBigramBuckets;
        nGramBuckets = charNGrams == CharNGramMode.None ? 0 : (uint)settings.CharNGramBuckets;
        bigramOffset = FirstWordId + definition.Vocabulary.Count;
        nGramOffset = bigramOffset + bigramBuckets;
        VocabularySize = checked((int)(nGramOffset + nGramBuckets));
    }

    public TokenizerDefinition Definition { get; }

    /// <summary>Rows the embedding table needs: every id this tokenizer can produce is below it.</summary>
    public int VocabularySize { get; }

    public int MaxSequenceLength { get; }

    /// <summary>The ids of <c>[PAD]</c>, <c>[UNK]</c>, <c>[CLS]</c> and <c>[SEP]</c> for WordPiece; null for the words kind.</summary>
    public WordPieceSpecialIds? SpecialIds => wordPiece?.SpecialIds;

    /// <summary>
    /// Encodes one text into <paramref name="ids"/> and returns how many it wrote: at least 1 (when
    /// <paramref name="ids"/> is not empty; for WordPiece at least 2, <c>[CLS]</c> and <c>[SEP]</c>), at most the
    /// smaller of <see cref="MaxSequenceLength"/> and its length.
    /// </summary>
    /// <exception cref="ArgumentException">A WordPiece tokenizer was given fewer than 2 ids to write.</exception>
    public int Encode(ReadOnlySpan<char> text, Span<long> ids)
    {
        if (ids.Length > MaxSequenceLength)
        {
            ids = ids[..MaxSequenceLength];
        }

        if (wordPiece is not null)
        {
            return ids.Length >= 2
                ? wordPiece.Encode(text, ids)
                : throw new ArgumentException("A WordPiece encoding needs room for at least [CLS] and [SEP].", nameof(ids));
        }

        if (ids.IsEmpty)
        {
            return 0;
        }

        char[]? rented = null;
        try
        {
            var normalized = TextNormalizer.Normalize(text, caseFold, stackalloc char[StackChars], ref rented);
            int count = Emit(normalized, ids);
            if (count == 0)
            {
                ids[count++] = UnknownId;
            }

            return count;
        }
        finally
        {
            TextNormalizer.Return(rented);
        }
    }

    /// <summary>Encodes one text into a new array of exactly its length.</summary>
    public long[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        long[] buffer = new long[MaxSequenceLength];
        int count = Encode(text, buffer);
        return count == buffer.Length ? buffer : buffer.AsSpan(0, count).ToArray();
    }

    /// <summary>
    /// Encodes texts into one padded batch, as wide as its longest row: ids padded with <see cref="PaddingId"/>, and
    /// an attention mask of 1 on real positions and 0 on padding. Pass the batch from the previous call to reuse its
    /// buffers; the returned batch is that one, refilled.
    /// </summary>
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, TokenizedBatch? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var batch = reuse ?? new TokenizedBatch();
        int rows = texts.Count;
        int stride = MaxSequenceLength;
        var ids = batch.Reserve(rows, stride);
        var lengths = batch.Lengths;
        int longest = rows == 0 ? 0 : 1;
        for (int row = 0; row < rows; row++)
        {
            lengths[row] = Encode(texts[row], ids.AsSpan(row * stride, stride));
            longest = Math.Max(longest, lengths[row]);
        }

        // Rows were written `stride` apart; pack them `longest` apart. Moving rows front to back never overwrites a
        // row not yet moved, because each destination ends before the next row's source starts.
        for (int row = 0; row < rows; row++)
        {
            int length = lengths[row];
            if (row > 0)
            {
                ids.AsSpan(row * stride, length).CopyTo(ids.AsSpan(row * longest, length));
            }

            ids.AsSpan(row * longest + length, longest - length).Clear();
        }

        batch.Complete(rows, longest);
        return batch;
    }

    /// <summary>
    /// The words a text segments into after normalization, for explanations and tests; for WordPiece, its word pieces
    /// as vocabulary entries (<c>##</c> continuations, <c>[UNK]</c>), without <c>[CLS]</c>, <c>[SEP]</c> or truncation.
    /// </summary>
    public IReadOnlyList<string> Segment(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (wordPiece is not null)
        {
            return wordPiece.Pieces(text);
        }

        char[]? rented = null;
        try
        {
            var normalized = TextNormalizer.Normalize(text, caseFold, stackalloc char[StackChars], ref rented);
            var result = new List<string>();
            var segmenter = new WordSegmenter(normalized);
            while (segmenter.MoveNext())
            {
                result.Add(normalized.Slice(segmenter.Start, segmenter.Length).ToString());
            }

            return result;
        }
        finally
        {
            TextNormalizer.Return(rented);
        }
    }

    private int Emit(ReadOnlySpan<char> normalized, Span<long> ids)
    {
        int count = 0;
        var segmenter = new WordSegmenter(normalized);
        ReadOnlySpan<char> previous = default;
        while (segmenter.MoveNext())
        {
            var word = normalized.Slice(segmenter.Start, segmenter.Length);
            bool known = words.TryGetValue(word, out int index);
            bool withNGrams = segmenter.Kind == WordKind.Word
                && (charNGrams == CharNGramMode.AllWords || (charNGrams == CharNGramMode.UnknownWords && !known));

            if (charNGrams != CharNGramMode.UnknownWords || !withNGrams || word.Length + 2 < nGramMin)
            {
                if (count == ids.Length)
                {
                    return count;
                }

                ids[count++] = known ? FirstWordId + index : UnknownId;
            }

            if (bigramBuckets > 0 && !previous.IsEmpty)
            {
                if (count == ids.Length)
                {
                    return count;
                }

                uint hash = Fnv(Fnv(BigramSeed, previous), ' ');
                ids[count++] = bigramOffset + Finish(Fnv(hash, word)) % bigramBuckets;
            }

            if (withNGrams)
            {
                count = EmitNGrams(word, ids, count);
            }

            previous = word;
        }

        return count;
    }

    /// <summary>Hashed n-grams of <c>&lt;word&gt;</c>, by start position then length.</summary>
    private int EmitNGrams(ReadOnlySpan<char> word, Span<long> ids, int count)
    {
        if (word.Length > MaxNGramWord)
        {
            word = word[..MaxNGramWord];
        }

        Span<char> wrapped = stackalloc char[MaxNGramWord + 2];
        wrapped[0] = '<';
        word.CopyTo(wrapped[1..]);
        wrapped[word.Length + 1] = '>';
        wrapped = wrapped[..(word.Length + 2)];

        for (int start = 0; start + nGramMin <= wrapped.Length; start++)
        {
            uint hash = NGramSeed;
            int end = Math.Min(start + nGramMax, wrapped.Length);
            for (int i = start; i < end; i++)
            {
                hash = Fnv(hash, wrapped[i]);
                if (i - start + 1 >= nGramMin)
                {
                    if (count == ids.Length)
                    {
                        return count;
                    }

                    ids[count++] = nGramOffset + Finish(hash) % nGramBuckets;
                }
            }
        }

        return count;
    }

    // FNV-1a over UTF-16 code units, finished with MurmurHash3's avalanche so that the low bits used by the bucket
    // modulo depend on every input bit. Fixed forever for TokenizerDefinition.WordsFormat: changing it
    // changes every trained model's input.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Fnv(uint hash, char c) => (hash ^ c) * 0x01000193;

    private static uint Fnv(uint hash, ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            hash = Fnv(hash, c);
        }

        return hash;
    }

    private static uint Finish(uint hash)
    {
        hash ^= hash >> 16;
        hash *= 0x85EBCA6B;
        hash ^= hash >> 13;
        hash *= 0xC2B2AE35;
        hash ^= hash >> 16;
        return hash;
    }
}
