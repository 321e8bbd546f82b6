using TextClassification.Inference.Tokenization;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Tests.Loop;

/// <summary>
/// Torch's random generator is process-wide: tests that train or build modules run in this collection, alone, so that
/// no other test draws from the generator between a seed and its use (and so memory readings are this test's own).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "TorchSharp, alone";
}

/// <summary>Small synthetic intent data and settings that train in well under a second.</summary>
internal static class TinyData
{
    public const string OutOfScope = "oos";

    public static readonly IReadOnlyDictionary<string, string[]> Keywords = new Dictionary<string, string[]>
    {
        ["banking"] = ["balance", "account", "transfer", "money", "bank", "card"],
        ["music"] = ["play", "song", "music", "playlist", "volume", "album"],
        ["weather"] = ["weather", "rain", "sunny", "forecast", "temperature", "umbrella"],
        ["travel"] = ["flight", "hotel", "book", "trip", "airport", "ticket"],
        [OutOfScope] = ["recipe", "joke", "movie", "president", "dinosaur", "poem"],
    };

    private static readonly string[] Fillers = ["please", "can", "you", "tell", "me", "the", "my", "what", "is", "now", "today", "i", "want", "to"];

    public static TokenizerSettings Tokenizer { get; } = new()
    {
        WordBigramBuckets = 64,
        CharNGrams = CharNGramMode.AllWords,
        CharNGramMin = 3,
        CharNGramMax = 4,
        CharNGramBuckets = 256,
    };

    public static Hyperparameters Hyperparameters { get; } = new()
    {
        Epochs = 3,
        BatchSize = 16,
        LearningRate = 0.05,
        WeightDecay = 0.01,
        Dropout = 0.1,
        MaxSequenceLength = 64,
        WarmupRatio = 0.1,
        LearningRateSchedule = LearningRateScheduleKind.Linear,
        EarlyStoppingPatience = 0,
        LabelSmoothing = 0.1,
        Seed = 7,
    };

    /// <summary>Sentences of two keywords of their label among two to four filler words.</summary>
    public static List<LabelledText> Rows(int perLabel, int seed, params string[] labels)
    {
        var random = new Random(seed);
        var rows = new List<LabelledText>();
        foreach (string label in labels)
        {
            for (int i = 0; i < perLabel; i++)
            {
                var words = new List<string>
                {
                    Keywords[label][random.Next(Keywords[label].Length)],
                    Keywords[label][random.Next(Keywords[label].Length)],
                };
                int fillers = random.Next(2, 5);
                for (int f = 0; f < fillers; f++)
                {
                    words.Insert(random.Next(words.Count + 1), Fillers[random.Next(Fillers.Length)]);
                }

                rows.Add(new LabelledText(string.Join(' ', words), label));
            }
        }

        // Interleave the labels, as real files seldom come sorted.
        return rows.OrderBy(_ => random.Next()).ToList();
    }

    /// <summary>The built-in all-MiniLM-L6-v2, read once for every test that fine-tunes it.</summary>
    public static PretrainedEncoder MiniLm => MiniLmEncoder.Value;

    private static readonly Lazy<PretrainedEncoder> MiniLmEncoder = new(() => BuiltInBaseModels.MiniLm.Load());

    public static TrainingRequest Request(string architecture = ArchitectureRegistry.NGramBag, params string[] labels)
    {
        labels = labels.Length > 0 ? labels : ["banking", "music", "weather"];
        if (architecture == ArchitectureRegistry.Bert)
        {
            // MiniLM fine-tunes at a pretrained encoder's rate; texts here are a handful of word pieces. Only the top
            // layer trains, which keeps a run to seconds on two cores (no gradient for the 30,522-row embedding);
            // EncoderFineTuningTests trains every layer once.
            return new TrainingRequest
            {
                Architecture = architecture,
                Hyperparameters = Hyperparameters with { LearningRate = 2e-4, MaxSequenceLength = 32, LabelSmoothing = 0, TrainLayers = 1 },
                Train = Rows(40, seed: 1, labels),
                Validation = Rows(10, seed: 2, labels),
                Pretrained = MiniLm,
            };
        }

        return new TrainingRequest
        {
            Architecture = architecture,
            Hyperparameters = Hyperparameters,
            Train = Rows(40, seed: 1, labels),
            Validation = Rows(10, seed: 2, labels),
            Tokenizer = Tokenizer,
            Model = architecture == ArchitectureRegistry.NGramBag
                ? new NGramBagConfig { EmbeddingDim = 16 }
                : new TransformerConfig { ModelDim = 16, Heads = 2, Layers = 1, FeedForwardDim = 32 },
        };
    }
}

/// <summary>Keeps what a run reports, and can cancel it at a chosen point.</summary>
internal sealed class RecordingObserver(Action<RecordingObserver>? afterCheckpoint = null) : ITrainingObserver
{
    public List<TrainingStep> Steps { get; } = [];

    public List<EpochMetrics> Epochs { get; } = [];

    public List<TrainingCheckpoint> Checkpoints { get; } = [];

    public void OnStep(TrainingStep step) => Steps.Add(step);

    public void OnEpoch(EpochMetrics metrics) => Epochs.Add(metrics);

    public void OnCheckpoint(TrainingCheckpoint checkpoint)
    {
        Checkpoints.Add(checkpoint);
        afterCheckpoint?.Invoke(this);
    }
}
