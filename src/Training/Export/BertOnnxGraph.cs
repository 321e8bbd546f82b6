using System.Globalization;
using TextClassification.Training.Models;

namespace TextClassification.Training.Export;

/// <summary>
/// <see cref="BertClassifier"/> as ONNX, node for node as its forward pass (the state-dict layout and the ops are
/// listed in that class's remarks): opset 17's LayerNormalization, Erf for GELU, MatMul, Softmax; nothing custom.
/// </summary>
internal static class BertOnnxGraph
{
    /// <summary>Writes the network from <paramref name="ids"/> and <paramref name="mask"/> and returns the logits value.</summary>
    public static string Write(OnnxLayerWriter layers, BertConfig config, string ids, string mask)
    {
        var b = layers.Builder;
        // Positions are rows 0..sequence-1 of their table (a Slice, kept float32 when quantizing); every position is
        // token type 0, so that row is added as it is.
        string sequenceLength = b.Shape(ids, start: 1, end: 2);
        string positions = b.Slice(layers.Weight("embeddings.position.weight"), b.Vector(0), sequenceLength, b.Vector(0));
        string tokenType = b.Gather(layers.Weight("embeddings.token_type.weight"), b.Scalar(0L));
        string embedded = b.Add(b.Add(layers.Embedding("embeddings.word.weight", ids), positions), tokenType);
        string x = layers.LayerNorm(embedded, "embeddings.norm", config.LayerNormEpsilon);

        string realPositions = b.Cast(mask, Onnx.OnnxElementType.Float);
        string keyBias = layers.KeyBias(realPositions);
        for (int i = 0; i < config.Layers; i++)
        {
            x = Layer(layers, config, x, keyBias, string.Create(CultureInfo.InvariantCulture, $"layers.{i}."));
        }

        string pooled = config.Pooling == BertPooling.Cls
            ? b.Gather(x, b.Scalar(0L), axis: 1)
            : layers.MaskedMean(x, realPositions);
        return layers.Linear(pooled, "classifier");
    }

    /// <summary>Post-LN: <c>norm(x + attention(x))</c>, then <c>norm(x + feed_forward(x))</c> with an erf GELU.</summary>
    private static string Layer(OnnxLayerWriter layers, BertConfig config, string x, string keyBias, string prefix)
    {
        var b = layers.Builder;
        string attention = layers.SelfAttention(x, keyBias, prefix + "attention.", config.Heads, config.HiddenSize);
        x = layers.LayerNorm(b.Add(x, attention), prefix + "attention_norm", config.LayerNormEpsilon);
        string hidden = b.Gelu(layers.LinearOverSequence(x, prefix + "feed_forward_in"));
        return layers.LayerNorm(b.Add(x, layers.LinearOverSequence(hidden, prefix + "feed_forward_out")), prefix + "feed_forward_norm", config.LayerNormEpsilon);
    }
}
