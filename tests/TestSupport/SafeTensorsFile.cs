using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace TextClassification.TestSupport;

/// <summary>
/// Writes a safetensors file (8-byte header length, JSON header, little-endian data) the way Hugging Face's library
/// does, independently of the service's own reader and writer, so tests check those against something else.
/// </summary>
public static class SafeTensorsFile
{
    /// <param name="tensors">Name, shape and float values of each tensor, in file order.</param>
    /// <param name="dtype"><c>F32</c>, <c>F16</c> or <c>BF16</c> (the top half of each float32).</param>
    public static byte[] Write(IEnumerable<(string Name, long[] Shape, float[] Values)> tensors, string dtype = "F32")
    {
        int size = dtype == "F32" ? 4 : 2;
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        using var body = new MemoryStream();
        foreach (var (name, shape, values) in tensors)
        {
            long start = body.Length;
            var bytes = new byte[values.Length * size];
            for (int i = 0; i < values.Length; i++)
            {
                switch (dtype)
                {
                    case "F32":
                        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                        break;
                    case "F16":
                        BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
                        break;
                    case "BF16":
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16));
                        break;
                    default:
                        throw new ArgumentException($"dtype {dtype} is not written here.", nameof(dtype));
                }
            }

            body.Write(bytes);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(start, body.Length),
            };
        }

        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var output = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        output.Write(length);
        output.Write(json);
        body.Position = 0;
        body.CopyTo(output);
        return output.ToArray();
    }
}
