using static TextClassification.Training.Export.Onnx.OnnxAttribute;

namespace TextClassification.Training.Export.Onnx;

// The operators the exporters use, each one node (Gelu the exception: opset 17 has none) with its opset-17 signature.
// Where an opset moved an argument from an attribute to an input, the comment says so: getting that wrong is the
// usual way a hand-written graph fails to load.
public sealed partial class OnnxGraphBuilder
{
    /// <summary>Rows of <paramref name="data"/> picked by <paramref name="indices"/> along <paramref name="axis"/> (an embedding lookup).</summary>
    public string Gather(string data, string indices, long axis = 0) => AddNode("Gather", [data, indices], Int("axis", axis));

    public string MatMul(string a, string b) => AddNode("MatMul", [a, b]);

    /// <summary>
    /// <c>a · b + c</c> on 2-D inputs; with <paramref name="transB"/> <c>b</c> is used transposed, which is how a
    /// TorchSharp Linear weight (<c>[out, in]</c>) goes in unchanged.
    /// </summary>
    public string Gemm(string a, string b, string? c = null, bool transB = false) =>
        AddNode("Gemm", [a, b, c ?? string.Empty], Int("transB", transB ? 1 : 0));

    public string Add(string a, string b) => AddNode("Add", [a, b]);

    public string Sub(string a, string b) => AddNode("Sub", [a, b]);

    public string Mul(string a, string b) => AddNode("Mul", [a, b]);

    public string Div(string a, string b) => AddNode("Div", [a, b]);

    public string Pow(string x, string exponent) => AddNode("Pow", [x, exponent]);

    public string Relu(string x) => AddNode("Relu", [x]);

    public string Tanh(string x) => AddNode("Tanh", [x]);

    public string Erf(string x) => AddNode("Erf", [x]);

    public string Sqrt(string x) => AddNode("Sqrt", [x]);

    public string Identity(string x) => AddNode("Identity", [x]);

    /// <summary>
    /// GELU in its exact (erf) form, <c>0.5 · x · (1 + erf(x / √2))</c>, as TorchSharp's default gelu computes it;
    /// opset 17 has no Gelu operator. Runtimes such as ONNX Runtime fuse this pattern back into one kernel.
    /// </summary>
    public string Gelu(string x) =>
        Mul(Mul(x, Add(Erf(Div(x, Scalar(MathF.Sqrt(2f)))), Scalar(1f))), Scalar(0.5f));

    public string Softmax(string x, long axis = -1) => AddNode("Softmax", [x], Int("axis", axis));

    /// <summary>Layer normalization over the axes from <paramref name="axis"/> to the last (a standard operator since opset 17).</summary>
    public string LayerNormalization(string x, string scale, string bias, long axis = -1, float epsilon = 1e-5f) =>
        AddNode("LayerNormalization", [x, scale, bias], Int("axis", axis), Float("epsilon", epsilon));

    /// <summary>Sum over <paramref name="axes"/>; ReduceSum takes its axes as an input since opset 13.</summary>
    public string ReduceSum(string x, long[] axes, bool keepDims) =>
        AddNode("ReduceSum", [x, Vector(axes)], Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Mean over <paramref name="axes"/>; unlike ReduceSum, ReduceMean keeps axes as an attribute until opset 18.</summary>
    public string ReduceMean(string x, long[] axes, bool keepDims) =>
        AddNode("ReduceMean", [x], Ints("axes", axes), Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Maximum over <paramref name="axes"/>; ReduceMax keeps axes as an attribute until opset 18.</summary>
    public string ReduceMax(string x, long[] axes, bool keepDims) =>
        AddNode("ReduceMax", [x], Ints("axes", axes), Int("keepdims", keepDims ? 1 : 0));

    public string Cast(string x, OnnxElementType to) => AddNode("Cast", [x], Int("to", (long)to));

    /// <summary>Inserts size-1 dimensions at <paramref name="axes"/> (an input since opset 13).</summary>
    public string Unsqueeze(string x, params long[] axes) => AddNode("Unsqueeze", [x, Vector(axes)]);

    /// <summary>Removes the size-1 dimensions at <paramref name="axes"/> (an input since opset 13).</summary>
    public string Squeeze(string x, params long[] axes) => AddNode("Squeeze", [x, Vector(axes)]);

    /// <summary>Reshapes to the shape held by the int64 value <paramref name="shape"/>.</summary>
    public string Reshape(string x, string shape) => AddNode("Reshape", [x, shape]);

    /// <summary>Reshapes to a constant shape; 0 copies the input's dimension, -1 infers one dimension.</summary>
    public string Reshape(string x, params long[] shape) => Reshape(x, Vector(shape));

    public string Transpose(string x, params long[] perm) => AddNode("Transpose", [x], Ints("perm", perm));

    /// <summary>The shape of <paramref name="x"/> as a 1-D int64 value, optionally only dimensions [start, end).</summary>
    public string Shape(string x, long? start = null, long? end = null)
    {
        List<OnnxAttribute> attributes = [];
        if (start is { } first)
        {
            attributes.Add(Int("start", first));
        }

        if (end is { } last)
        {
            attributes.Add(Int("end", last));
        }

        return AddNode("Shape", [x], [.. attributes]);
    }

    public string Concat(long axis, params string[] inputs) => AddNode("Concat", inputs, Int("axis", axis));

    /// <summary>Slices with bounds held by int64 values (inputs since opset 10); null axes or steps are omitted.</summary>
    public string Slice(string data, string starts, string ends, string? axes = null, string? steps = null) =>
        AddNode("Slice", [data, starts, ends, axes ?? string.Empty, steps ?? string.Empty]);

    /// <summary>Slices with constant bounds.</summary>
    public string Slice(string data, long[] starts, long[] ends, long[]? axes = null, long[]? steps = null) =>
        Slice(data, Vector(starts), Vector(ends), axes is null ? null : Vector(axes), steps is null ? null : Vector(steps));

    /// <summary>Where <paramref name="condition"/> (bool) holds, <paramref name="x"/>, else <paramref name="y"/>; broadcasting.</summary>
    public string Where(string condition, string x, string y) => AddNode("Where", [condition, x, y]);

    public string Equal(string a, string b) => AddNode("Equal", [a, b]);

    /// <summary>Element-wise maximum of the inputs, broadcasting.</summary>
    public string Max(params string[] inputs) => AddNode("Max", inputs);

    /// <summary>Clamps a float value; min and max are optional inputs (not attributes) since opset 11.</summary>
    public string Clip(string x, float? min = null, float? max = null) =>
        AddNode("Clip", [x, min is { } lo ? Scalar(lo) : string.Empty, max is { } hi ? Scalar(hi) : string.Empty]);

    /// <summary>
    /// Convolution over <c>[batch, channels, spatial...]</c> with weight <c>[out, in / group, kernel...]</c>: a
    /// TorchSharp Conv1d is a weight of shape <c>[out, in, k]</c> over <c>[batch, in, sequence]</c>, with
    /// <paramref name="pads"/> <c>[left, right]</c>. The kernel shape comes from the weight.
    /// </summary>
    public string Conv(string x, string weight, string? bias, long[] pads, long[]? strides = null, long[]? dilations = null, long group = 1)
    {
        ArgumentNullException.ThrowIfNull(pads);
        List<OnnxAttribute> attributes = [Ints("pads", pads), Int("group", group)];
        if (strides is not null)
        {
            attributes.Add(Ints("strides", strides));
        }

        if (dilations is not null)
        {
            attributes.Add(Ints("dilations", dilations));
        }

        return AddNode("Conv", [x, weight, bias ?? string.Empty], [.. attributes]);
    }

    /// <summary>Broadcasts <paramref name="x"/> to the shape held by the int64 value <paramref name="shape"/>.</summary>
    public string Expand(string x, string shape) => AddNode("Expand", [x, shape]);

    /// <summary>A float tensor of the shape held by <paramref name="shape"/>, every element <paramref name="value"/>.</summary>
    public string ConstantOfShape(string shape, float value) =>
        AddNode("ConstantOfShape", [shape], OnnxAttribute.Tensor("value", [value], 1));

    /// <summary>The 1-D sequence start, start + delta, ... below limit; the three are scalars of one type.</summary>
    public string Range(string start, string limit, string delta) => AddNode("Range", [start, limit, delta]);

    /// <summary>
    /// Quantizes a float tensor to uint8 with one scale and zero point computed from the tensor itself at run time
    /// (opset 11): <c>scale = (max(0, max x) − min(0, min x)) / 255</c>, <c>zero_point = round(−min / scale)</c>,
    /// <c>y = saturate(round(x / scale) + zero_point)</c>. Returns <c>(y uint8, y_scale float scalar, y_zero_point
    /// uint8 scalar)</c>; the range always holds 0, so zero is exact.
    /// </summary>
    public (string Quantized, string Scale, string ZeroPoint) DynamicQuantizeLinear(string x)
    {
        var outputs = AddNode("DynamicQuantizeLinear", [x], 3);
        return (outputs[0], outputs[1], outputs[2]);
    }

    /// <summary>
    /// <c>(a − a_zero_point) · (b − b_zero_point)</c> as numpy matmul with int32 accumulation (opset 10). Zero points
    /// are optional inputs of a's and b's element type: scalars, or per row of a / per column of b. ONNX Runtime's CPU
    /// kernel takes a uint8 or int8 <paramref name="a"/> and a uint8 or int8 <paramref name="b"/>.
    /// </summary>
    public string MatMulInteger(string a, string b, string? aZeroPoint = null, string? bZeroPoint = null) =>
        AddNode("MatMulInteger", [a, b, aZeroPoint ?? string.Empty, bZeroPoint ?? string.Empty]);
}
