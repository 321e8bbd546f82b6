using System.Runtime.InteropServices;
using Google.Protobuf;
using TextClassification.Training.Export.Onnx.Proto;
using TorchSharp;
using static TextClassification.Training.Export.Onnx.Proto.TensorProto.Types;

namespace TextClassification.Training.Export.Onnx;

/// <summary>
/// Builds <see cref="TensorProto"/> constants. Data always goes to <c>raw_data</c>, which ONNX defines as fixed-width
/// little-endian elements in row-major order: the bytes of a .NET array or a contiguous CPU tensor, as is, on a
/// little-endian host.
/// </summary>
internal static class OnnxTensors
{
    public static TensorProto Create(string name, ReadOnlySpan<float> values, ReadOnlySpan<long> dims) =>
        Create(name, DataType.Float, MemoryMarshal.AsBytes(values), values.Length, dims);

    public static TensorProto Create(string name, ReadOnlySpan<long> values, ReadOnlySpan<long> dims) =>
        Create(name, DataType.Int64, MemoryMarshal.AsBytes(values), values.Length, dims);

    public static TensorProto Create(string name, ReadOnlySpan<byte> values, ReadOnlySpan<long> dims) =>
        Create(name, DataType.Uint8, values, values.Length, dims);

    /// <summary>
    /// A float32 tensor from any floating-point tensor (widened or narrowed to float32), an int64 tensor from an
    /// int64 one, a uint8 tensor from a uint8 one (quantized weights); the tensor may live on any device and need not
    /// be contiguous.
    /// </summary>
    public static TensorProto Create(string name, torch.Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = torch.NewDisposeScope();
        var (type, converted) = tensor.dtype switch
        {
            torch.ScalarType.Int64 => (DataType.Int64, tensor),
            torch.ScalarType.Byte => (DataType.Uint8, tensor),
            _ when tensor.is_floating_point() => (DataType.Float, tensor.to_type(torch.ScalarType.Float32)),
            _ => throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}; only floating-point, int64 and uint8 tensors are exported.", nameof(tensor)),
        };
        var host = converted.detach().cpu().contiguous();
        return Create(name, type, host.bytes, checked((int)host.numel()), host.shape);
    }

    private static TensorProto Create(string name, DataType type, ReadOnlySpan<byte> data, int count, ReadOnlySpan<long> dims)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; exporting on a big-endian host is not supported.");
        }

        long expected = 1;
        foreach (long dim in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim, nameof(dims));
            expected *= dim;
        }

        if (expected != count)
        {
            throw new ArgumentException($"Tensor '{name}' has {count} elements but its shape [{string.Join(", ", dims.ToArray())}] holds {expected}.", nameof(dims));
        }

        var proto = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        proto.Dims.Add(dims.ToArray());
        return proto;
    }
}
