using System.Globalization;
using TextClassification.Training.Export.Onnx;
using TextClassification.Training.Models;

namespace TextClassification.Training.Export;

/// <summary>
/// <see cref="TransformerClassifier"/> as ONNX, node for node as its forward pass (the state-dict layout and the ops
/// are listed in that class's remarks).
/// </summary>
internal static class TransformerOnnxGraph
{
    /// <summary>Writes the network from <paramref name="ids"/> and <paramref name="mask"/> and returns the logits value.</summary>
    public static string Write(OnnxLayerWriter layers, TransformerConfig config, string ids, string mask)
    {
        var b = layers.Builder;
        // Positions are rows 0..sequence-1 of their table: a Slice, not a Gather, so the table stays float32 even
        // when quantizing (it is MaxPositions rows, a few kilobytes).
        string sequenceLength = b.Shape(ids, start: 1, end: 2);
        string positions = b.Slice(layers.Weight("position_embedding.weight"), b.Vector(0), sequenceLength, b.Vector(0));
        string x = b.Add(layers.Embedding("token_embedding.weight", ids), positions);

        string realPositions = b.Cast(mask, OnnxElementType.Float);
        string keyBias = layers.KeyBias(realPositions);
        for (int i = 0; i < config.Layers; i++)
        {
            x = EncoderLayer(layers, config, x, keyBias, string.Create(CultureInfo.InvariantCulture, $"layers.{i}."));
        }

        string pooled = layers.MaskedMean(layers.LayerNorm(x, "final_norm"), realPositions);
        return layers.Linear(pooled, "classifier");
    }

    /// <summary>Pre-LN: <c>x + attention(norm(x))</c>, then <c>x + feed_forward(norm(x))</c> with an erf GELU.</summary>
    private static string EncoderLayer(OnnxLayerWriter layers, TransformerConfig config, string x, string keyBias, string prefix)
    {
        var b = layers.Builder;
        x = b.Add(x, layers.SelfAttention(layers.LayerNorm(x, prefix + "attention_norm"), keyBias, prefix + "attention.", config.Heads, config.ModelDim));
        string hidden = b.Gelu(layers.LinearOverSequence(layers.LayerNorm(x, prefix + "feed_forward_norm"), prefix + "feed_forward_in"));
        return b.Add(x, layers.LinearOverSequence(hidden, prefix + "feed_forward_out"));
    }
}
