using TextClassification.Training.Export.Onnx;
using TextClassification.Training.Models;

namespace TextClassification.Training.Export;

/// <summary>
/// <see cref="NGramBagClassifier"/> as ONNX, node for node as its forward pass (the state-dict layout and the ops
/// are listed in that class's remarks).
/// </summary>
internal static class NGramBagOnnxGraph
{
    /// <summary>Padding positions get this added before max pooling, as the module does, so they never win.</summary>
    private const float PaddingScore = -1e9f;

    /// <summary>Writes the network from <paramref name="ids"/> and <paramref name="mask"/> and returns the logits value.</summary>
    public static string Write(OnnxLayerWriter layers, NGramBagConfig config, string ids, string mask)
    {
        var b = layers.Builder;
        string states = layers.Embedding("embedding.weight", ids);
        string realPositions = b.Cast(mask, OnnxElementType.Float);
        string pooled = layers.MaskedMean(states, realPositions);
        if (config.Pooling == NGramPooling.MeanMax)
        {
            string padding = b.Unsqueeze(b.Mul(b.Sub(b.Scalar(1f), realPositions), b.Scalar(PaddingScore)), 2);
            pooled = b.Concat(1, pooled, b.ReduceMax(b.Add(states, padding), [1], keepDims: false));
        }

        string features = config.HiddenDim > 0 ? b.Relu(layers.Linear(pooled, "hidden")) : pooled;
        return layers.Linear(features, "classifier");
    }
}
