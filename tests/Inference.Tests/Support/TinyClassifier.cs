using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Export.Onnx;

namespace TextClassification.Inference.Tests.Support;

/// <summary>
/// A real ONNX classifier small enough to reason about: each vocabulary word votes for one label with weight
/// <see cref="Strength"/>, and the logits are the masked mean of the votes (Gather → mask → mean → Gemm). So
/// "alpha" alone is label 0 with high confidence, "alpha beta" splits evenly between labels 0 and 1, an unknown word
/// scores every label equally, and padding never changes a row's result.
/// </summary>
public static class TinyClassifier
{
    public const float Strength = 4f;

    /// <summary>Word i of the vocabulary votes for label i % 3.</summary>
    public static readonly string[] Vocabulary = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];

    public static readonly string[] Labels = ["greeting", "weather", "out_of_scope"];

    public static ClassifierMetadata Metadata(double? threshold = 0.6, string? outOfScopeLabel = "out_of_scope", string? quantization = null) =>
        new("tiny-mean", Labels, new TokenizerDefinition(new TokenizerSettings { MaxSequenceLength = 16 }, Vocabulary), threshold, outOfScopeLabel, quantization);

    /// <summary>The serialized model; <paramref name="bias"/> shifts every row's logits (different versions, different answers).</summary>
    public static byte[] Build(ClassifierMetadata? metadata = null, float[]? bias = null)
    {
        metadata ??= Metadata();
        int labels = metadata.Labels.Count;
        int vocabularySize = new TextTokenizer(metadata.Tokenizer).VocabularySize;
        var embedding = new float[vocabularySize * labels];
        for (int id = TextTokenizer.FirstWordId; id < vocabularySize; id++)
        {
            embedding[(id * labels) + ((id - TextTokenizer.FirstWordId) % labels)] = Strength;
        }

        var identity = new float[labels * labels];
        for (int i = 0; i < labels; i++)
        {
            identity[(i * labels) + i] = 1;
        }

        var b = new OnnxGraphBuilder("tiny_mean_classifier");
        string ids = b.AddInput(ClassifierMetadata.InputIdsName, OnnxElementType.Int64, "batch", "sequence");
        string mask = b.AddInput(ClassifierMetadata.AttentionMaskName, OnnxElementType.Int64, "batch", "sequence");
        string votes = b.Gather(b.AddInitializer("embedding", embedding, vocabularySize, labels), ids);
        string weights = b.Unsqueeze(b.Cast(mask, OnnxElementType.Float), 2);
        string sum = b.ReduceSum(b.Mul(votes, weights), [1], keepDims: false);
        string count = b.ReduceSum(weights, [1], keepDims: false);
        string mean = b.Div(sum, count);
        string logits = b.Gemm(mean, b.AddInitializer("classifier_weight", identity, labels, labels), b.AddInitializer("classifier_bias", bias ?? new float[labels], labels), transB: true);
        b.AddOutput(logits, ClassifierMetadata.LogitsName, OnnxElementType.Float, "batch", labels);
        return b.ToModel(metadata.ToProperties());
    }
}
