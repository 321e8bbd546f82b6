using System.Numerics.Tensors;
using TextClassification.Training.BaseModels;

namespace TextClassification.Benchmarks;

/// <summary>
/// Word replacement for a distillation transfer set: each word of a training text that is a whole token of MiniLM's
/// vocabulary may be swapped for one of its nearest whole-word tokens in MiniLM's input embedding space (cosine).
/// Unlike deletion, swaps and typos this puts words into the transfer set that the training texts never had, and the
/// teacher labels them: the part of Tang et al. (2019)'s recipe that could teach an n-gram student words it would
/// otherwise never see. A benchmark experiment, not a product feature.
/// </summary>
internal sealed class EmbeddingNeighbours
{
    private const int Neighbours = 8;

    private readonly Dictionary<string, string[]> _neighbours;

    private EmbeddingNeighbours(Dictionary<string, string[]> neighbours) => _neighbours = neighbours;

    public int WordsWithNeighbours => _neighbours.Count;

    /// <summary>A word's neighbours, for a look at what replacement does; empty when it has none.</summary>
    public IReadOnlyList<string> Of(string word) => _neighbours.GetValueOrDefault(word) ?? [];

    /// <summary>The nearest whole-word tokens of every distinct lower-case word of <paramref name="texts"/> that MiniLM's vocabulary holds.</summary>
    public static EmbeddingNeighbours Build(IEnumerable<string> texts)
    {
        var model = BuiltInBaseModels.MiniLm;
        string[] vocabulary = File.ReadAllLines(Path.Combine(model.Directory, "vocab.txt"));
        var embeddings = OnnxEncoderImport.Read(Path.Combine(model.Directory, "model.onnx")).Tensors["embeddings.word.weight"];
        int width = (int)embeddings.Shape[1];
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Length; i++)
        {
            index.TryAdd(vocabulary[i], i);
        }

        // Candidates: alphabetic whole words of two letters or more (no "##" pieces, no [unused] or punctuation).
        var candidates = Enumerable.Range(0, vocabulary.Length).Where(i => vocabulary[i].Length >= 2 && vocabulary[i].All(char.IsAsciiLetterLower)).ToArray();
        var words = texts.SelectMany(t => t.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(w => w.Length >= 2 && w.All(char.IsAsciiLetterLower) && index.ContainsKey(w)).Distinct(StringComparer.Ordinal).ToArray();

        var neighbours = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var lock_ = new Lock();
        Parallel.ForEach(words, () => new float[candidates.Length], (word, _, local) =>
        {
            var own = embeddings.Values.AsSpan(index[word] * width, width);
            for (int c = 0; c < candidates.Length; c++)
            {
                local[c] = TensorPrimitives.CosineSimilarity(own, embeddings.Values.AsSpan(candidates[c] * width, width));
            }

            string[] nearest = [.. Enumerable.Range(0, candidates.Length).OrderByDescending(c => local[c])
                .Select(c => vocabulary[candidates[c]]).Where(w => w != word).Take(Neighbours)];
            lock (lock_)
            {
                neighbours[word] = nearest;
            }

            return local;
        }, _ => { });
        return new EmbeddingNeighbours(neighbours);
    }

    /// <summary><paramref name="text"/> with each word that has neighbours replaced by a random one of them with <paramref name="probability"/>.</summary>
    public string Replace(string text, double probability, Random random)
    {
        string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < words.Length; i++)
        {
            if (_neighbours.TryGetValue(words[i].ToLowerInvariant(), out var nearest) && random.NextDouble() < probability)
            {
                words[i] = nearest[random.Next(nearest.Length)];
            }
        }

        return string.Join(' ', words);
    }
}
