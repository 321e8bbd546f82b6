using TorchSharp;

namespace TextClassification.Training.Export;

/// <summary>A linear layer's weight quantized for <c>MatMulInteger</c>: <c>w[k, n] ≈ (values[k, n] − 128) · scales[n]</c>.</summary>
/// <param name="Values">uint8, row-major <c>[in, out]</c> (the transpose of the layer's <c>[out, in]</c>).</param>
/// <param name="Scales">One per output column.</param>
/// <param name="In">The layer's input width: rows of <paramref name="Values"/>.</param>
/// <param name="Out">The layer's output width: columns of <paramref name="Values"/>.</param>
internal sealed record QuantizedLinearWeight(byte[] Values, float[] Scales, long In, long Out);

/// <summary>An embedding table quantized per row: <c>table[r, d] ≈ (values[r, d] − zeroPoints[r]) · scales[r]</c>.</summary>
internal sealed record QuantizedEmbeddingTable(byte[] Values, float[] Scales, byte[] ZeroPoints, long Rows, long Width);

/// <summary>
/// Turns float weights into the uint8 tensors of a dynamically quantized graph. Only the quantization of weights
/// happens here; activations are quantized by the graph itself at run time.
/// </summary>
internal static class WeightQuantization
{
    /// <summary>
    /// The zero point of every quantized linear weight. Weights are symmetric around it (codes 1..255), so the
    /// per-column scale alone carries each column's range and one scalar zero point serves the whole matrix.
    /// </summary>
    /// <remarks>
    /// Why uint8 and not int8 weights: ONNX Runtime runs uint8 × int8 on AVX2 machines without VNNI with an
    /// instruction that adds pairs of products in 16 bits and saturates (255 · 127 · 2 overflows), which is why its
    /// own quantizer offers "reduce range". uint8 × uint8 widens first and never saturates, on every x86 level.
    /// </remarks>
    public const byte LinearZeroPoint = 128;

    private const int SymmetricLevels = 127;
    private const int AsymmetricLevels = 255;

    /// <summary>Quantizes a Linear weight <c>[out, in]</c> symmetrically per output row, stored transposed.</summary>
    public static QuantizedLinearWeight Linear(torch.Tensor weight)
    {
        var (values, dims) = HostCopy(weight);
        long outputs = dims[0];
        long inputs = dims[1];
        var scales = new float[outputs];
        var quantized = new byte[values.Length];
        for (long n = 0; n < outputs; n++)
        {
            var row = values.AsSpan(checked((int)(n * inputs)), checked((int)inputs));
            float largest = 0;
            foreach (float w in row)
            {
                largest = Math.Max(largest, Math.Abs(w));
            }

            // An all-zero column quantizes to its zero point whatever the scale; 1 keeps the division finite.
            float scale = largest > 0 ? largest / SymmetricLevels : 1f;
            scales[n] = scale;
            for (long k = 0; k < inputs; k++)
            {
                float code = MathF.Round(row[(int)k] / scale);
                quantized[(k * outputs) + n] = (byte)(Math.Clamp(code, -SymmetricLevels, SymmetricLevels) + LinearZeroPoint);
            }
        }

        return new QuantizedLinearWeight(quantized, scales, inputs, outputs);
    }

    /// <summary>
    /// Quantizes an embedding table <c>[rows, width]</c> asymmetrically per row: each row's range (widened to hold
    /// 0, so zero stays exact) is spread over all 256 codes, which suits rows of different magnitude (frequent and
    /// rare n-grams train to very different norms).
    /// </summary>
    public static QuantizedEmbeddingTable Embedding(torch.Tensor table)
    {
        var (values, dims) = HostCopy(table);
        long rows = dims[0];
        int width = checked((int)dims[1]);
        var scales = new float[rows];
        var zeroPoints = new byte[rows];
        var quantized = new byte[values.Length];
        for (long r = 0; r < rows; r++)
        {
            int offset = checked((int)(r * width));
            var row = values.AsSpan(offset, width);
            float low = 0;
            float high = 0;
            foreach (float w in row)
            {
                low = Math.Min(low, w);
                high = Math.Max(high, w);
            }

            float scale = high > low ? (high - low) / AsymmetricLevels : 1f;
            float zeroPoint = Math.Clamp(MathF.Round(-low / scale), 0, AsymmetricLevels);
            scales[r] = scale;
            zeroPoints[r] = (byte)zeroPoint;
            for (int d = 0; d < width; d++)
            {
                quantized[offset + d] = (byte)Math.Clamp(MathF.Round(row[d] / scale) + zeroPoint, 0, AsymmetricLevels);
            }
        }

        return new QuantizedEmbeddingTable(quantized, scales, zeroPoints, rows, width);
    }

    private static (float[] Values, long[] Dims) HostCopy(torch.Tensor weight)
    {
        if (weight.dim() != 2)
        {
            throw new ArgumentException($"Only 2-D weights are quantized; got [{string.Join(", ", weight.shape)}].", nameof(weight));
        }

        using var scope = torch.NewDisposeScope();
        var host = weight.detach().to_type(torch.ScalarType.Float32).cpu().contiguous();
        return (host.data<float>().ToArray(), host.shape);
    }
}
