using TextClassification.Training.Export.Onnx.Proto;
using static TextClassification.Training.Export.Onnx.Proto.AttributeProto.Types;

namespace TextClassification.Training.Export.Onnx;

/// <summary>
/// A typed node attribute (<c>axis</c>, <c>epsilon</c>, <c>perm</c>, ...). Created only through the factories, so
/// the ONNX <c>type</c> discriminator always matches the one value field that is set.
/// </summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    public string Name => Proto.Name;

    internal AttributeProto Proto { get; }

    public static OnnxAttribute Int(string name, long value) => Create(name, AttributeType.Int, a => a.I = value);

    public static OnnxAttribute Float(string name, float value) => Create(name, AttributeType.Float, a => a.F = value);

    public static OnnxAttribute Ints(string name, params long[] values) => Create(name, AttributeType.Ints, a => a.Ints.Add(values));

    public static OnnxAttribute Floats(string name, params float[] values) => Create(name, AttributeType.Floats, a => a.Floats.Add(values));

    /// <summary>A string attribute, written as UTF-8 bytes as ONNX requires.</summary>
    public static OnnxAttribute String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Create(name, AttributeType.String, a => a.S = Google.Protobuf.ByteString.CopyFromUtf8(value));
    }

    /// <summary>A float tensor attribute of shape <paramref name="dims"/> (none for a scalar).</summary>
    public static OnnxAttribute Tensor(string name, float[] values, params long[] dims) =>
        Create(name, AttributeType.Tensor, a => a.T = OnnxTensors.Create(string.Empty, values, dims));

    /// <summary>An int64 tensor attribute of shape <paramref name="dims"/> (none for a scalar).</summary>
    public static OnnxAttribute Tensor(string name, long[] values, params long[] dims) =>
        Create(name, AttributeType.Tensor, a => a.T = OnnxTensors.Create(string.Empty, values, dims));

    private static OnnxAttribute Create(string name, AttributeType type, Action<AttributeProto> setValue)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var proto = new AttributeProto { Name = name, Type = type };
        setValue(proto);
        return new OnnxAttribute(proto);
    }
}
