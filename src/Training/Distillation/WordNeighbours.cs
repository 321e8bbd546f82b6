using System.Collections.Concurrent;
using System.Numerics.Tensors;
using TextClassification.Training.BaseModels;

namespace TextClassification.Training.Distillation;

/// <summary>
/// The nearest words of a word in MiniLM's input embeddings (cosine similarity between whole-word tokens of its
/// vocabulary): <c>money</c> → dollars, funds, cash…; <c>cancel</c> → cancellation, canceled, terminate…. A
/// distillation transfer set replaces words by these (see <see cref="TransferSet"/>) so that the teacher labels texts
/// with words the training data never had, which is how an n-gram student learns them.
/// </summary>
/// <remarks>
/// The table comes from the built-in MiniLM package, read once per process on first use; a word's neighbours are
/// computed when a job first asks for them (a dot product with each of about 20,000 normalised candidate vectors)
/// and kept for the next job. Candidates are lower-case alphabetic whole words of two letters or more: no
/// <c>##</c> word pieces, special tokens or punctuation.
/// </remarks>
public sealed class WordNeighbours
{
    /// <summary>Neighbours kept per word.</summary>
    public const int Count = 8;

    private readonly Lazy<Table> table;
    private readonly ConcurrentDictionary<string, string[]> computed = new(StringComparer.Ordinal);

    /// <summary>Neighbours from the built-in MiniLM package's vocabulary and input embeddings.</summary>
    public WordNeighbours()
        : this(LoadMiniLm)
    {
    }

    /// <summary>Neighbours from <paramref name="vocabulary"/> and its row-major <c>[words, width]</c> <paramref name="embeddings"/>.</summary>
    internal WordNeighbours(IReadOnlyList<string> vocabulary, float[] embeddings, int width)
        : this(() => Table.Create(vocabulary, embeddings, width))
    {
    }

    private WordNeighbours(Func<Table> load) => table = new Lazy<Table>(load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether <paramref name="word"/> (lower case) is a candidate, and so has neighbours.</summary>
    public bool Knows(string word) => table.Value.Index.ContainsKey(word);

    /// <summary>The <see cref="Count"/> nearest candidates of <paramref name="word"/>, nearest first; empty for a word the vocabulary lacks.</summary>
    public IReadOnlyList<string> Of(string word) =>
        table.Value.Index.TryGetValue(word, out int row) ? computed.GetOrAdd(word, _ => table.Value.Nearest(row)) : [];

    private static Table LoadMiniLm()
    {
        var encoder = BuiltInBaseModels.MiniLm.Load();
        var embeddings = encoder.Weights.Tensors["embeddings.word.weight"];
        return Table.Create(encoder.Tokenizer.Vocabulary, embeddings.Values, (int)embeddings.Shape[1]);
    }

    /// <summary>The candidates' unit vectors and where each candidate word is.</summary>
    private sealed class Table(string[] words, float[] unitVectors, int width, Dictionary<string, int> index)
    {
        public Dictionary<string, int> Index { get; } = index;

        public static Table Create(IReadOnlyList<string> vocabulary, float[] embeddings, int width)
        {
            // The same candidates as the word vectors an n-gram bag can start from.
            var candidates = PretrainedWordVectors.WholeWords(vocabulary);
            var words = candidates.ConvertAll(c => c.Word);
            var index = new Dictionary<string, int>(words.Count, StringComparer.Ordinal);
            for (int c = 0; c < words.Count; c++)
            {
                index[words[c]] = c;
            }

            var unit = new float[words.Count * width];
            for (int c = 0; c < words.Count; c++)
            {
                var source = embeddings.AsSpan(candidates[c].Token * width, width);
                float norm = TensorPrimitives.Norm(source);
                TensorPrimitives.Divide(source, norm > 0 ? norm : 1f, unit.AsSpan(c * width, width));
            }

            return new Table([.. words], unit, width, index);
        }

        /// <summary>The nearest other candidates of candidate <paramref name="row"/>, nearest first.</summary>
        public string[] Nearest(int row)
        {
            var own = unitVectors.AsSpan(row * width, width);
            Span<int> best = stackalloc int[Count];
            Span<float> scores = stackalloc float[Count];
            int filled = 0;
            for (int c = 0; c < words.Length; c++)
            {
                if (c == row)
                {
                    continue;
                }

                float score = TensorPrimitives.Dot(own, unitVectors.AsSpan(c * width, width));
                if (filled == Count && score <= scores[Count - 1])
                {
                    continue;
                }

                int position = filled < Count ? filled++ : Count - 1;
                while (position > 0 && scores[position - 1] < score)
                {
                    best[position] = best[position - 1];
                    scores[position] = scores[position - 1];
                    position--;
                }

                best[position] = c;
                scores[position] = score;
            }

            var nearest = new string[filled];
            for (int i = 0; i < filled; i++)
            {
                nearest[i] = words[best[i]];
            }

            return nearest;
        }
    }
}
