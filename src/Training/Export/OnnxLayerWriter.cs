using TextClassification.Training.Export.Onnx;
using TorchSharp;

namespace TextClassification.Training.Export;

/// <summary>
/// The layers the architectures share, written into one graph from one module's state dict: embedding lookups,
/// linear layers, layer norms, masked mean pooling. The quantization mode is decided here, once, so the per-architecture
/// graphs describe only their wiring and read the same with and without INT8.
/// </summary>
/// <remarks>
/// Initializers keep their state-dict names where they hold the tensor unchanged (<c>classifier.bias</c>); derived
/// tensors get a suffix saying what they are (<c>.weight_transposed</c>, <c>.weight_quantized</c>, <c>.weight_scale</c>).
/// </remarks>
internal sealed class OnnxLayerWriter(OnnxGraphBuilder builder, IReadOnlyDictionary<string, torch.Tensor> state, OnnxQuantization quantization)
{
    public OnnxGraphBuilder Builder { get; } = builder;

    /// <summary>A state-dict tensor as a float32 initializer of the same name.</summary>
    public string Weight(string name) => Builder.AddInitializer(name, Tensor(name));

    /// <summary>
    /// Rows of the table <paramref name="name"/> (<c>[rows, width]</c>) for int64 <paramref name="ids"/>: float rows
    /// gathered directly, or uint8 rows gathered with their scales and zero points and dequantized as
    /// <c>(Cast(q) − Cast(zero_point)) · scale</c>, which is where most of an n-gram bag's bytes are saved.
    /// </summary>
    public string Embedding(string name, string ids)
    {
        var table = Tensor(name);
        if (quantization == OnnxQuantization.None)
        {
            return Builder.Gather(Builder.AddInitializer(name, table), ids);
        }

        var quantized = WeightQuantization.Embedding(table);
        // Scales and zero points are [rows, 1] so the gathered ones are [..., 1] and broadcast over the row's width.
        string codes = Builder.AddInitializer($"{name}_quantized", quantized.Values, quantized.Rows, quantized.Width);
        string scales = Builder.AddInitializer($"{name}_scale", quantized.Scales, quantized.Rows, 1);
        string zeroPoints = Builder.AddInitializer($"{name}_zero_point", quantized.ZeroPoints, quantized.Rows, 1);
        string centred = Builder.Sub(
            Builder.Cast(Builder.Gather(codes, ids), OnnxElementType.Float),
            Builder.Cast(Builder.Gather(zeroPoints, ids), OnnxElementType.Float));
        return Builder.Mul(centred, Builder.Gather(scales, ids));
    }

    /// <summary>The Linear layer <paramref name="layer"/> on <c>[batch, features]</c>: Gemm with the weight as stored.</summary>
    public string Linear(string x, string layer) =>
        quantization == OnnxQuantization.None
            ? Builder.Gemm(x, Weight($"{layer}.weight"), Weight($"{layer}.bias"), transB: true)
            : QuantizedLinear(x, layer);

    /// <summary>
    /// The Linear layer <paramref name="layer"/> on <c>[batch, sequence, features]</c>: MatMul against the transposed
    /// weight, then Add (Gemm takes only 2-D input).
    /// </summary>
    public string LinearOverSequence(string x, string layer)
    {
        if (quantization != OnnxQuantization.None)
        {
            return QuantizedLinear(x, layer);
        }

        using var scope = torch.NewDisposeScope();
        string weight = Builder.AddInitializer($"{layer}.weight_transposed", Tensor($"{layer}.weight").t());
        return Builder.Add(Builder.MatMul(x, weight), Weight($"{layer}.bias"));
    }

    /// <summary>
    /// LayerNorm over the last axis, weights <c>{layer}.weight</c> and <c>{layer}.bias</c>, with TorchSharp's default
    /// epsilon 1e-5 unless the module chose another (BERT's 1e-12).
    /// </summary>
    public string LayerNorm(string x, string layer, double epsilon = 1e-5) =>
        Builder.LayerNormalization(x, Weight($"{layer}.weight"), Weight($"{layer}.bias"), axis: -1, epsilon: (float)epsilon);

    /// <summary>
    /// <c>Models.SelfAttention.KeyBias</c>: <c>[batch, 1, 1, sequence]</c>, broadcast over heads and queries, 0 on real
    /// keys and <c>MaskedScore</c> on padding, from the mask as float <c>[batch, sequence]</c>.
    /// </summary>
    public string KeyBias(string realPositions) =>
        Builder.Unsqueeze(Builder.Mul(Builder.Sub(Builder.Scalar(1f), realPositions), Builder.Scalar(Models.SelfAttention.MaskedScore)), 1, 2);

    /// <summary>
    /// <c>Models.SelfAttention</c> with its state under <paramref name="prefix"/>: projections, heads split as
    /// <c>[batch, heads, sequence, head_dim]</c>, scaled scores plus <paramref name="keyBias"/>, softmax over keys, heads
    /// merged, output projection.
    /// </summary>
    /// <param name="x">The sequence, <c>[batch, sequence, width]</c>.</param>
    /// <param name="keyBias"><c>[batch, 1, 1, sequence]</c>: 0 on real keys, a large negative number on padding.</param>
    /// <param name="prefix">The attention block's state-dict prefix, ending in a dot.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="width">The model's width.</param>
    public string SelfAttention(string x, string keyBias, string prefix, int heads, int width)
    {
        var b = Builder;
        long headDim = width / heads;

        // [batch, sequence, width] → [batch, heads, sequence, head_dim]; Reshape's 0 keeps batch and sequence dynamic.
        string SplitHeads(string projected) => b.Transpose(b.Reshape(projected, 0, 0, heads, headDim), 0, 2, 1, 3);

        string query = SplitHeads(LinearOverSequence(x, prefix + "query"));
        string key = SplitHeads(LinearOverSequence(x, prefix + "key"));
        string value = SplitHeads(LinearOverSequence(x, prefix + "value"));
        string scores = b.Add(
            b.Div(b.MatMul(query, b.Transpose(key, 0, 1, 3, 2)), b.Scalar((float)Math.Sqrt(headDim))),
            keyBias);
        string context = b.MatMul(b.Softmax(scores, axis: -1), value);
        string merged = b.Reshape(b.Transpose(context, 0, 2, 1, 3), 0, 0, width);
        return LinearOverSequence(merged, prefix + "output");
    }

    /// <summary>
    /// The mean of <paramref name="states"/> <c>[batch, sequence, width]</c> over real positions, as
    /// <c>TextClassifierModule.MaskedMean</c> computes it: the count clamped to at least 1.
    /// </summary>
    /// <param name="states">The vectors to pool.</param>
    /// <param name="realPositions">The attention mask as float <c>[batch, sequence]</c>.</param>
    public string MaskedMean(string states, string realPositions)
    {
        string weights = Builder.Unsqueeze(realPositions, 2);
        string sum = Builder.ReduceSum(Builder.Mul(states, weights), [1], keepDims: false);
        string count = Builder.Max(Builder.ReduceSum(weights, [1], keepDims: false), Builder.Scalar(1f));
        return Builder.Div(sum, count);
    }

    /// <summary>
    /// ONNX Runtime's dynamic-quantization pattern: the activation quantized per tensor at run time, an integer
    /// matmul against the uint8 weight, then back to float with the product of the two scales, plus the float bias.
    /// Works on 2-D and 3-D activations alike (MatMulInteger broadcasts like numpy's matmul).
    /// </summary>
    private string QuantizedLinear(string x, string layer)
    {
        var weight = WeightQuantization.Linear(Tensor($"{layer}.weight"));
        string codes = Builder.AddInitializer($"{layer}.weight_quantized", weight.Values, weight.In, weight.Out);
        string weightScales = Builder.AddInitializer($"{layer}.weight_scale", weight.Scales, weight.Out);
        var (activation, activationScale, activationZeroPoint) = Builder.DynamicQuantizeLinear(x);
        string product = Builder.MatMulInteger(activation, codes, activationZeroPoint, Builder.ScalarUInt8(WeightQuantization.LinearZeroPoint));
        string scale = Builder.Mul(activationScale, weightScales);
        return Builder.Add(Builder.Mul(Builder.Cast(product, OnnxElementType.Float), scale), Weight($"{layer}.bias"));
    }

    private torch.Tensor Tensor(string name) =>
        state.TryGetValue(name, out var tensor)
            ? tensor
            : throw new InvalidOperationException($"The module's state dict has no '{name}'; the exporter and the module disagree on its layout.");
}
