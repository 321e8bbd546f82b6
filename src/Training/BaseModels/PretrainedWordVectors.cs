using System.Numerics.Tensors;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Models;
using TorchSharp;

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

    /// <summary>
    /// The whole words of <paramref name="encoder"/>'s vocabulary, each with the encoder's output for the word alone:
    /// <c>[CLS] word [SEP]</c> through every layer, pooled as the encoder pools a text.
    /// </summary>
    /// <remarks>
    /// The encoder was trained so that its pooled outputs of texts that mean the same lie close; run on one word, it
    /// gives that word's meaning as the encoder understands it (the distillation of Model2Vec, Tulkens and van
    /// Dongen, 2024). Its input embeddings, the table the first layer reads, place words by spelling and co-occurrence
    /// as much as by meaning.
    /// </remarks>
    /// <exception cref="InvalidDataException">The encoder's weights do not fit its shape.</exception>
    public static PretrainedWordVectors From(PretrainedEncoder encoder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var words = WholeWords(encoder.Tokenizer.Vocabulary);
        var outputs = PooledWordOutputs(encoder, words, cancellationToken);
        return FromPooledWordOutputs(encoder.Id, [.. words.Select(w => w.Word)], outputs, encoder.Config.HiddenSize);
    }

    /// <summary>
    /// What <see cref="From"/> computes before it centres and scales: the encoder's pooled output for each of
    /// <paramref name="words"/> (the <see cref="WholeWords"/> of its vocabulary) alone, row-major
    /// <c>[words, hidden size]</c>. The expensive part (an encoder pass per word), kept apart so that it can be stored
    /// and read back (<see cref="WordVectorCache"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The encoder's weights do not fit its shape.</exception>
    internal static float[] PooledWordOutputs(PretrainedEncoder encoder, IReadOnlyList<(int Token, string Word)> words, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var special = new TextTokenizer(encoder.Tokenizer).SpecialIds!;
        int width = encoder.Config.HiddenSize;
        var outputs = new float[words.Count * width];
        using var scope = torch.NewDisposeScope();
        using var module = new BertClassifier(encoder.Config with { LabelCount = 1, Dropout = 0 });
        encoder.Weights.LoadInto(module);
        module.eval();
        using var noGrad = torch.no_grad();
        const int batchSize = 512;
        for (int start = 0; start < words.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, words.Count - start);
            var ids = new long[count * 3];
            for (int i = 0; i < count; i++)
            {
                (ids[3 * i], ids[(3 * i) + 1], ids[(3 * i) + 2]) = (special.Classifier, words[start + i].Token, special.Separator);
            }

            using var batchScope = torch.NewDisposeScope();
            var pooled = module.Pool(torch.tensor(ids, [count, 3]), torch.ones(count, 3, torch.ScalarType.Int64));
            pooled.data<float>().CopyTo(outputs.AsSpan(start * width, count * width));
        }

        return outputs;
    }

    /// <summary>
    /// The vectors <see cref="From"/> makes of <see cref="PooledWordOutputs"/>' results (computed now or read back):
    /// <paramref name="outputs"/> is centred and scaled in place.
    /// </summary>
    /// <exception cref="InvalidDataException">The outputs do not have a row per word, or there are no words.</exception>
    internal static PretrainedWordVectors FromPooledWordOutputs(string source, string[] words, float[] outputs, int width)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(outputs);
        if (width < 1 || outputs.Length != (long)words.Length * width)
        {
            throw new InvalidDataException($"The pooled outputs hold {outputs.Length} values, not {words.Length} words × {width}.");
        }

        return FromWordVectors(source, words, outputs, width);
    }

    /// <summary>
    /// Vectors from a trained classifier's logits for each of <paramref name="words"/> alone (<paramref name="logits"/>,
    /// row-major <c>[words, labels]</c>): each word's vector says which labels the word by itself points to.
    /// </summary>
    /// <remarks>
    /// A fine-tuned encoder knows which intent a word it never saw in its training texts belongs with (its pretraining
    /// placed the word, its fine-tuning placed the intents); its logits for the word alone carry that to a bag of
    /// n-grams. Logits are first centred on the word's own mean over labels (softmax ignores a shift common to every
    /// label, so it says nothing), then on the words' mean like any other vectors.
    /// </remarks>
    /// <exception cref="InvalidDataException">The logits do not have a row per word, or there are no words.</exception>
    public static PretrainedWordVectors FromClassifierLogits(string source, IReadOnlyList<string> words, float[] logits, int labels)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(logits);
        if (labels < 2 || logits.Length != (long)words.Count * labels)
        {
            throw new InvalidDataException($"The classifier's logits hold {logits.Length} values, not {words.Count} words × {labels} labels.");
        }

        var vectors = (float[])logits.Clone();
        for (int w = 0; w < words.Count; w++)
        {
            var row = vectors.AsSpan(w * labels, labels);
            TensorPrimitives.Subtract(row, TensorPrimitives.Sum(row) / labels, row);
        }

        return FromWordVectors(source, [.. words], vectors, labels);
    }

    /// <summary>
    /// Vectors from <paramref name="vocabulary"/> and its row-major <c>[tokens, width]</c> <paramref name="embeddings"/>
    /// (an input-embedding table, say): each whole word's row.
    /// </summary>
    /// <exception cref="InvalidDataException">The table does not have a row per token, or no token is a whole word.</exception>
    public static PretrainedWordVectors Create(string source, IReadOnlyList<string> vocabulary, float[] embeddings, int width)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(embeddings);
        if (width < 1 || embeddings.Length != (long)vocabulary.Count * width)
        {
            throw new InvalidDataException($"The word-embedding table holds {embeddings.Length} values, not {vocabulary.Count} tokens × {width}.");
        }

        var words = WholeWords(vocabulary);
        var vectors = new float[words.Count * width];
        for (int w = 0; w < words.Count; w++)
        {
            embeddings.AsSpan(words[w].Token * width, width).CopyTo(vectors.AsSpan(w * width, width));
        }

        return FromWordVectors(source, [.. words.Select(w => w.Word)], vectors, width);
    }

    /// <summary>The words' vectors centred on their mean and scaled to unit length.</summary>
    private static PretrainedWordVectors FromWordVectors(string source, string[] words, float[] vectors, int width)
    {
        if (words.Length == 0)
        {
            throw new InvalidDataException("The vocabulary has no whole-word tokens.");
        }

        var mean = new float[width];
        for (int w = 0; w < words.Length; w++)
        {
            TensorPrimitives.Add(mean, vectors.AsSpan(w * width, width), mean);
        }

        TensorPrimitives.Divide(mean, words.Length, mean);
        for (int w = 0; w < words.Length; w++)
        {
            var vector = vectors.AsSpan(w * width, width);
            TensorPrimitives.Subtract(vector, mean, vector);
            float norm = TensorPrimitives.Norm(vector);
            if (norm > 0)
            {
                TensorPrimitives.Divide(vector, norm, vector);
            }
        }

        return new PretrainedWordVectors(source, words, vectors, width);
    }

    /// <summary>
    /// The vocabulary's whole words (see the class remarks), first occurrence of each, with their token ids; also the
    /// candidates of <see cref="Distillation.WordNeighbours"/>.
    /// </summary>
    internal static List<(int Token, string Word)> WholeWords(IReadOnlyList<string> vocabulary)
    {
        var words = new List<(int, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            string token = vocabulary[i];
            if (token.Length >= 2 && token.All(char.IsAsciiLetterLower) && seen.Add(token))
            {
                words.Add((i, token));
            }
        }

        return words;
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

}
