using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Checkpoints;

/// <summary>
/// Reads and writes named tensors in the safetensors layout (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header <c>{name: {dtype, shape, data_offsets}}</c>, then the raw little-endian
/// bytes. Chosen over TorchSharp's own format because any tool (Python included) can read it, which the ONNX writer
/// and anyone checking its output rely on. Only float32 and int64 tensors occur in our models.
/// </summary>
public static class SafeTensors
{
    /// <summary>Writes the tensors (copied to the CPU, contiguous) in the order given.</summary>
    public static byte[] ToBytes(IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var scope = NewDisposeScope();
        var header = new JsonObject();
        var payloads = new List<Tensor>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            var cpu = tensor.detach().cpu().contiguous();
            long size = cpu.NumberOfElements * cpu.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(cpu.dtype),
                ["shape"] = new JsonArray(cpu.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            payloads.Add(cpu);
            offset += size;
        }

        byte[] headerBytes = JsonSerializer.SerializeToUtf8Bytes(header);
        // The format wants the data aligned to 8 bytes: pad the header with spaces.
        int padded = (headerBytes.Length + 7) / 8 * 8;
        var result = new byte[checked(8 + padded + offset)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        headerBytes.CopyTo(result, 8);
        result.AsSpan(8 + headerBytes.Length, padded - headerBytes.Length).Fill((byte)' ');
        long at = 8 + padded;
        foreach (var payload in payloads)
        {
            var bytes = payload.bytes;
            bytes.CopyTo(result.AsSpan(checked((int)at)));
            at += bytes.Length;
        }

        return result;
    }

    /// <summary>Reads every tensor into new CPU tensors owned by the caller (outside any dispose scope).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a safetensors file of float32/int64 tensors.</exception>
    public static Dictionary<string, Tensor> FromBytes(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            throw new InvalidDataException("The weights are truncated: no safetensors header.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(data);
        if (headerLength > (ulong)(data.Length - 8))
        {
            throw new InvalidDataException("The weights are truncated: the safetensors header runs past the end.");
        }

        var body = data[(8 + (int)headerLength)..];
        JsonObject header;
        try
        {
            header = JsonNode.Parse(data.Slice(8, (int)headerLength))?.AsObject()
                ?? throw new InvalidDataException("The safetensors header is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("The safetensors header is not valid JSON.", e);
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    continue;
                }

                var entry = node?.AsObject() ?? throw new InvalidDataException($"Tensor {name} has no description.");
                var dtype = ParseDType(entry["dtype"]?.GetValue<string>(), name);
                long[] shape = entry["shape"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray()
                    ?? throw new InvalidDataException($"Tensor {name} has no shape.");
                var offsets = entry["data_offsets"]?.AsArray().Select(o => o!.GetValue<long>()).ToArray();
                if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > body.Length)
                {
                    throw new InvalidDataException($"Tensor {name} has bad data offsets.");
                }

                var tensor = empty(shape, dtype);
                if (tensor.NumberOfElements * tensor.ElementSize != offsets[1] - offsets[0])
                {
                    tensor.Dispose();
                    throw new InvalidDataException($"Tensor {name} has {offsets[1] - offsets[0]} bytes for shape [{string.Join(", ", shape)}].");
                }

                result[name] = tensor;
                var source = body[(int)offsets[0]..(int)offsets[1]];
                // The setter only reads the span; this avoids a managed copy of what may be tens of megabytes.
                tensor.bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(source), source.Length);
            }
        }
        catch
        {
            foreach (var tensor in result.Values)
            {
                tensor.Dispose();
            }

            throw;
        }

        return result;
    }

    private static string DTypeName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Int64 => "I64",
        _ => throw new NotSupportedException($"Tensors of {type} are not stored in checkpoints."),
    };

    private static ScalarType ParseDType(string? name, string tensor) => name switch
    {
        "F32" => ScalarType.Float32,
        "I64" => ScalarType.Int64,
        _ => throw new InvalidDataException($"Tensor {tensor} has dtype {name ?? "(none)"}; only F32 and I64 are read."),
    };
}
