using System.Numerics.Tensors;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// The whole words of a pretrained encoder's WordPiece vocabulary with their input-embedding vectors, for an n-gram
/// bag that starts from what the encoder knows about words (<c>word_vectors</c>): <c>refund</c> sits near
/// <c>reimbursement</c> before the bag has seen either.
/// </summary>
/// <remarks>
/// Words are the lower-case alphabetic tokens of two letters or more (no <c>##</c> pieces, special tokens, digits or
/// punctuation): about 20,000 of MiniLM's 30,522. Each vector is centred on the words' mean (BERT-family input
/// embeddings share a large common direction that says nothing about meaning) and scaled to unit length, so a word's
/// vector is its direction alone.
/// </remarks>
public sealed class PretrainedWordVectors
{
    private readonly float[] unitVectors;
    private readonly Dictionary<string, int> rows;

    private PretrainedWordVectors(string source, string[] words, float[] unitVectors, int width)
    {
        Source = source;
        Words = words;
        Width = width;
        this.unitVectors = unitVectors;
        rows = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        for (int i = 0; i < words.Length; i++)
        {
            rows[words[i]] = i;
        }
    }

    /// <summary>The encoder they come from (a base model id).</summary>
    public string Source { get; }

    /// <summary>The words that have a vector, in the encoder's vocabulary order.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Width of each vector: the encoder's hidden size.</summary>
    public int Width { get; }

    /// <summary>The whole words of <paramref name="encoder"/>'s vocabulary and their vectors.</summary>
    /// <exception cref="InvalidDataException">The encoder has no word-embedding table that fits its vocabulary.</exception>
    public static PretrainedWordVectors From(PretrainedEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (!encoder.Weights.Tensors.TryGetValue("embeddings.word.weight", out var table) || table.Shape.Length != 2)
        {
            throw new InvalidDataException($"The base model {encoder.Id} has no word-embedding table.");
        }

        return Create(encoder.Id, encoder.Tokenizer.Vocabulary, table.Values, (int)table.Shape[1]);
    }

    /// <summary>Vectors from <paramref name="vocabulary"/> and its row-major <c>[tokens, width]</c> <paramref name="embeddings"/>.</summary>
    /// <exception cref="InvalidDataException">The table does not have a row per token, or no token is a whole word.</exception>
    public static PretrainedWordVectors Create(string source, IReadOnlyList<string> vocabulary, float[] embeddings, int width)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(embeddings);
        if (width < 1 || embeddings.Length != (long)vocabulary.Count * width)
        {
            throw new InvalidDataException($"The word-embedding table holds {embeddings.Length} values, not {vocabulary.Count} tokens × {width}.");
        }

        var words = new List<string>();
        var tokenRows = new List<int>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            string token = vocabulary[i];
            if (IsWholeWord(token) && seen.Add(token))
            {
                words.Add(token);
                tokenRows.Add(i);
            }
        }

        if (words.Count == 0)
        {
            throw new InvalidDataException("The vocabulary has no whole-word tokens.");
        }

        var mean = new float[width];
        foreach (int row in tokenRows)
        {
            TensorPrimitives.Add(mean, embeddings.AsSpan(row * width, width), mean);
        }

        TensorPrimitives.Divide(mean, words.Count, mean);
        var unit = new float[words.Count * width];
        for (int w = 0; w < words.Count; w++)
        {
            var target = unit.AsSpan(w * width, width);
            TensorPrimitives.Subtract(embeddings.AsSpan(tokenRows[w] * width, width), mean, target);
            float norm = TensorPrimitives.Norm(target);
            if (norm > 0)
            {
                TensorPrimitives.Divide(target, norm, target);
            }
        }

        return new PretrainedWordVectors(source, [.. words], unit, width);
    }

    /// <summary>
    /// The vectors of a words tokenizer's ids below <see cref="WordRows"/>, row-major <c>[rows, Width]</c>: padding,
    /// unknown, then one row per vocabulary word, zero where the word has no vector.
    /// </summary>
    public float[] RowsFor(TokenizerDefinition tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var table = new float[(long)WordRows(tokenizer) * Width];
        for (int i = 0; i < tokenizer.Vocabulary.Count; i++)
        {
            if (rows.TryGetValue(tokenizer.Vocabulary[i], out int row))
            {
                unitVectors.AsSpan(row * Width, Width).CopyTo(table.AsSpan((TextTokenizer.FirstWordId + i) * Width, Width));
            }
        }

        return table;
    }

    /// <summary>The ids of a words tokenizer that are words (or padding and unknown): those below the hashed buckets.</summary>
    public static int WordRows(TokenizerDefinition tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return TextTokenizer.FirstWordId + tokenizer.Vocabulary.Count;
    }

    private static bool IsWholeWord(string token) => token.Length >= 2 && token.All(char.IsAsciiLetterLower);
}
