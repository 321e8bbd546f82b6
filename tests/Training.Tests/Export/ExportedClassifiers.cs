using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Export.Onnx.Proto;
using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Export;

/// <summary>
/// Classifiers of every architecture and variant with random (not initial) weights, a tokenizer learned from
/// <see cref="TinyData"/> whose vocabulary sizes their embeddings, and helpers to run and tamper with exports.
/// </summary>
internal static class ExportedClassifiers
{
    public const int MaxSequence = 64;

    public static readonly string[] Labels = ["banking", "music", "weather"];

    public static readonly TokenizerDefinition Tokenizer = TokenizerDefinition.Learn(
        Texts(60, seed: 3),
        TinyData.Tokenizer with { MaxSequenceLength = MaxSequence });

    public static readonly int VocabularySize = new TextTokenizer(Tokenizer).VocabularySize;

    /// <summary>Every exported shape: both poolings with and without a hidden layer, with word vectors, encoders of one and two layers, BERT with both poolings.</summary>
    public static readonly IReadOnlyDictionary<string, ModelConfig> Variants = new Dictionary<string, ModelConfig>
    {
        ["ngram-bag mean"] = Bag(NGramPooling.Mean, hidden: 0),
        ["ngram-bag mean, hidden 8"] = Bag(NGramPooling.Mean, hidden: 8),
        ["ngram-bag mean_max"] = Bag(NGramPooling.MeanMax, hidden: 0),
        ["ngram-bag mean_max, hidden 8"] = Bag(NGramPooling.MeanMax, hidden: 8),
        ["ngram-bag mean_max, word vectors 10"] = Bag(NGramPooling.MeanMax, hidden: 0) with { WordVectorWidth = 10, WordVectorRows = TextTokenizer.FirstWordId + Tokenizer.Vocabulary.Count },
        ["transformer, 1 layer"] = Encoder(layers: 1),
        ["transformer, 2 layers"] = Encoder(layers: 2),
        ["bert, mean pooling, 2 layers"] = Bert(BertPooling.Mean, layers: 2),
        ["bert, cls pooling, 1 layer"] = Bert(BertPooling.Cls, layers: 1),
    };

    public static TheoryData<string> VariantNames => [.. Variants.Keys];

    public static List<string> Texts(int perLabel, int seed) => TinyData.Rows(perLabel, seed, Labels).Select(r => r.Text).ToList();

    /// <summary>
    /// The variant's module with every parameter drawn from a private generator: random weights exercise every
    /// path (initial LayerNorms are identities, initial biases zero), and the global generator stays untouched for
    /// tests that seed it.
    /// </summary>
    public static TextClassifierModule Randomised(string variant, ulong seed = 1)
    {
        var config = Variants[variant];
        var module = ArchitectureRegistry.Get(Architecture(config)).Create(config);
        using var noGrad = no_grad();
        using var generator = new Generator(seed);
        foreach (var parameter in module.parameters())
        {
            using var values = randn(parameter.shape, generator: generator);
            parameter.copy_(values.mul_(0.5));
        }

        module.eval();
        return module;
    }

    public static ClassifierMetadata Metadata(ModelConfig config) =>
        new(Architecture(config), Labels, Tokenizer, OutOfScopeThreshold: 0.42, OutOfScopeLabel: "oos");

    public static string Architecture(ModelConfig config) => config switch
    {
        TransformerConfig => ArchitectureRegistry.Transformer,
        BertConfig => ArchitectureRegistry.Bert,
        _ => ArchitectureRegistry.NGramBag,
    };

    /// <summary>Softmax probabilities <c>[texts, labels]</c> of a model in ONNX Runtime, encoded with its tokenizer.</summary>
    public static float[,] Probabilities(byte[] model, TokenizerDefinition tokenizer, IReadOnlyList<string> texts)
    {
        using var session = new InferenceSession(model);
        using var runOptions = new RunOptions();
        var batch = new TextTokenizer(tokenizer).EncodeBatch(texts);
        long[] shape = [batch.Count, batch.SequenceLength];
        using var ids = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.InputIds, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.AttentionMask, shape);
        using var outputs = session.Run(runOptions, [ClassifierMetadata.InputIdsName, ClassifierMetadata.AttentionMaskName], [ids, mask], [ClassifierMetadata.LogitsName]);
        using var logits = torch.tensor(outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[0].GetTensorTypeAndShape().Shape);
        using var probabilities = logits.softmax(1);
        var result = new float[batch.Count, logits.shape[1]];
        Buffer.BlockCopy(probabilities.data<float>().ToArray(), 0, result, 0, result.Length * sizeof(float));
        return result;
    }

    /// <summary>The model with one float initializer's values replaced, as a buggy exporter would have written it.</summary>
    public static byte[] WithInitializer(byte[] model, string name, Func<float[], float[]> change)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        var initializer = proto.Graph.Initializer.Single(i => i.Name == name);
        float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(initializer.RawData.Span).ToArray();
        initializer.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(change(values).AsSpan()));
        return proto.ToByteArray();
    }

    private static NGramBagConfig Bag(NGramPooling pooling, int hidden) =>
        new() { VocabularySize = VocabularySize, LabelCount = Labels.Length, EmbeddingDim = 12, HiddenDim = hidden, Pooling = pooling, Dropout = 0.1 };

    private static BertConfig Bert(BertPooling pooling, int layers) =>
        new() { VocabularySize = VocabularySize, LabelCount = Labels.Length, HiddenSize = 16, Heads = 4, Layers = layers, IntermediateSize = 24, MaxPositions = MaxSequence, Pooling = pooling, Dropout = 0.1 };

    private static TransformerConfig Encoder(int layers) =>
        new() { VocabularySize = VocabularySize, LabelCount = Labels.Length, ModelDim = 16, Heads = 4, Layers = layers, FeedForwardDim = 24, MaxPositions = MaxSequence, Dropout = 0.1 };
}
