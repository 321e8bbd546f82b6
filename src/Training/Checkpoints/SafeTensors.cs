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
        var (entries, dataStart) = ReadHeader(data, data.Length);
        var body = data[checked((int)dataStart)..];
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in entries)
            {
                var tensor = empty(entry.Shape, ParseDType(entry.DType, entry.Name));
                result[entry.Name] = tensor;
                var source = body[(int)entry.Begin..(int)entry.End];
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

    /// <summary>
    /// Reads and checks a safetensors header from the start of <paramref name="prefix"/>: every entry's dtype is one
    /// the format defines, and its byte range lies inside the file and holds exactly its shape's elements.
    /// </summary>
    /// <param name="prefix">At least the first 8 bytes and the header; the tensor bytes need not follow.</param>
    /// <param name="fileLength">The whole file's length, to check the entries' ranges against.</param>
    /// <returns>The entries in header order, and where the tensor bytes start in the file.</returns>
    /// <exception cref="InvalidDataException">The header is truncated, not JSON, or describes a tensor wrongly; the message names it.</exception>
    public static (IReadOnlyList<SafeTensorEntry> Entries, long DataStart) ReadHeader(ReadOnlySpan<byte> prefix, long fileLength)
    {
        if (prefix.Length < 8 || fileLength < 8)
        {
            throw new InvalidDataException("The file is truncated: it has no safetensors header.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
        {
            throw new InvalidDataException("The file is truncated: its safetensors header runs past the end.");
        }

        if (headerLength > (ulong)(prefix.Length - 8))
        {
            throw new InvalidDataException($"The safetensors header is {headerLength} bytes, more than the {prefix.Length - 8} read.");
        }

        long dataStart = 8 + (long)headerLength;
        long bodyLength = fileLength - dataStart;
        JsonObject header;
        try
        {
            header = JsonNode.Parse(prefix.Slice(8, (int)headerLength))?.AsObject()
                ?? throw new InvalidDataException("The safetensors header is empty.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException("The safetensors header is not a JSON object.", e);
        }

        var entries = new List<SafeTensorEntry>(header.Count);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                continue;
            }

            try
            {
                var description = node?.AsObject() ?? throw new InvalidDataException($"Tensor {name} has no description.");
                string dtype = description["dtype"]?.GetValue<string>() ?? throw new InvalidDataException($"Tensor {name} has no dtype.");
                long[] shape = description["shape"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray()
                    ?? throw new InvalidDataException($"Tensor {name} has no shape.");
                var offsets = description["data_offsets"]?.AsArray().Select(o => o!.GetValue<long>()).ToArray();
                if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > bodyLength)
                {
                    throw new InvalidDataException($"Tensor {name} has data offsets outside the file.");
                }

                if (shape.Any(d => d < 0))
                {
                    throw new InvalidDataException($"Tensor {name} has a negative dimension in [{string.Join(", ", shape)}].");
                }

                int elementSize = ElementSize(dtype) ?? throw new InvalidDataException($"Tensor {name} has dtype {dtype}, which safetensors does not define.");
                long elements = shape.Aggregate(1L, (a, b) => checked(a * b));
                if (checked(elements * elementSize) != offsets[1] - offsets[0])
                {
                    throw new InvalidDataException($"Tensor {name} has {offsets[1] - offsets[0]} bytes for {dtype} shape [{string.Join(", ", shape)}].");
                }

                entries.Add(new SafeTensorEntry(name, dtype, shape, offsets[0], offsets[1]));
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                throw new InvalidDataException($"Tensor {name} is described wrongly in the safetensors header: {e.Message}", e);
            }
        }

        return (entries, dataStart);
    }

    /// <summary>Reads the header of a safetensors file without reading its tensors.</summary>
    /// <inheritdoc cref="ReadHeader(ReadOnlySpan{byte}, long)"/>
    public static (IReadOnlyList<SafeTensorEntry> Entries, long DataStart) ReadHeader(string path, long maxHeaderBytes)
    {
        using var file = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
        {
            throw new InvalidDataException("The file is truncated: it has no safetensors header.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)maxHeaderBytes)
        {
            throw new InvalidDataException($"The safetensors header is {headerLength} bytes; at most {maxHeaderBytes} are read.");
        }

        var prefix = new byte[8 + (int)headerLength];
        lengthBytes.CopyTo(prefix);
        file.ReadAtLeast(prefix.AsSpan(8), prefix.Length - 8, throwOnEndOfStream: false);
        return ReadHeader(prefix, file.Length);
    }

    /// <summary>Bytes per element of a safetensors dtype; null for a name the format does not define.</summary>
    public static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => null,
    };

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

/// <summary>One tensor's entry in a safetensors header: its byte range counts from the end of the header.</summary>
public sealed record SafeTensorEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
