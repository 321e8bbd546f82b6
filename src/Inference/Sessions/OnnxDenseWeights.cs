using System.Text;

namespace TextClassification.Inference.Sessions;

/// <summary>
/// How much arithmetic one token costs a classifier, read from its ONNX file: the elements of the weights that
/// <c>MatMul</c>, <c>Gemm</c> and <c>MatMulInteger</c> nodes multiply by, which is about the multiply-adds per token.
/// Embedding tables (read by <c>Gather</c>) do not count: they make a file large without making a run long, so the
/// file's size alone would rank an n-gram bag with a big vocabulary above an INT8 encoder.
/// </summary>
/// <remarks>
/// Reads only what it needs of the protobuf wire format (ModelProto.graph = 7; GraphProto.node = 1 and
/// .initializer = 5; NodeProto.input = 1 and .op_type = 4; TensorProto.dims = 1 and .name = 8) and skips the rest,
/// weight bytes included, so a 90 MB model is read in well under a millisecond. Initializers stored outside the
/// file and subgraphs are not looked into; every model this service exports has neither.
/// </remarks>
public static class OnnxDenseWeights
{
    private const int LengthDelimited = 2;

    private static readonly HashSet<string> DenseOperators = new(StringComparer.Ordinal) { "MatMul", "Gemm", "MatMulInteger" };

    /// <summary>The elements of every initializer that a <c>MatMul</c>, <c>Gemm</c> or <c>MatMulInteger</c> node multiplies by, each counted once.</summary>
    /// <param name="model">A serialized ONNX ModelProto.</param>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed protobuf message.</exception>
    public static long Count(ReadOnlySpan<byte> model)
    {
        var initializers = new Dictionary<string, long>(StringComparer.Ordinal);
        var denseInputs = new HashSet<string>(StringComparer.Ordinal);
        var reader = new WireReader(model);
        while (reader.Next(out int field, out int wireType))
        {
            if (field == 7 && wireType == LengthDelimited)
            {
                ReadGraph(reader.Bytes(), initializers, denseInputs);
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        return denseInputs.Sum(name => initializers.GetValueOrDefault(name));
    }

    private static void ReadGraph(ReadOnlySpan<byte> graph, Dictionary<string, long> initializers, HashSet<string> denseInputs)
    {
        var reader = new WireReader(graph);
        while (reader.Next(out int field, out int wireType))
        {
            if (field == 1 && wireType == LengthDelimited)
            {
                ReadNode(reader.Bytes(), denseInputs);
            }
            else if (field == 5 && wireType == LengthDelimited)
            {
                var (name, elements) = ReadTensor(reader.Bytes());
                initializers[name] = elements;
            }
            else
            {
                reader.Skip(wireType);
            }
        }
    }

    private static void ReadNode(ReadOnlySpan<byte> node, HashSet<string> denseInputs)
    {
        var inputs = new List<string>();
        string operatorType = string.Empty;
        var reader = new WireReader(node);
        while (reader.Next(out int field, out int wireType))
        {
            if (field == 1 && wireType == LengthDelimited)
            {
                inputs.Add(Encoding.UTF8.GetString(reader.Bytes()));
            }
            else if (field == 4 && wireType == LengthDelimited)
            {
                operatorType = Encoding.UTF8.GetString(reader.Bytes());
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        // The two multiplied inputs; Gemm's bias and MatMulInteger's zero points cost no multiplications.
        if (DenseOperators.Contains(operatorType))
        {
            denseInputs.UnionWith(inputs.Take(2));
        }
    }

    private static (string Name, long Elements) ReadTensor(ReadOnlySpan<byte> tensor)
    {
        string name = string.Empty;
        long elements = 1;
        var reader = new WireReader(tensor);
        while (reader.Next(out int field, out int wireType))
        {
            if (field == 1 && wireType == 0)
            {
                elements *= (long)reader.Varint();
            }
            else if (field == 1 && wireType == LengthDelimited)
            {
                // Packed dims, as proto3 writers emit them.
                var packed = new WireReader(reader.Bytes());
                while (!packed.AtEnd)
                {
                    elements *= (long)packed.Varint();
                }
            }
            else if (field == 8 && wireType == LengthDelimited)
            {
                name = Encoding.UTF8.GetString(reader.Bytes());
            }
            else
            {
                reader.Skip(wireType);
            }
        }

        return (name, elements);
    }

    /// <summary>A cursor over one protobuf message: tags, varints and length-delimited fields.</summary>
    private ref struct WireReader(ReadOnlySpan<byte> message)
    {
        private readonly ReadOnlySpan<byte> message = message;
        private int position;

        public readonly bool AtEnd => position >= message.Length;

        public bool Next(out int field, out int wireType)
        {
            if (AtEnd)
            {
                (field, wireType) = (0, 0);
                return false;
            }

            ulong tag = Varint();
            (field, wireType) = ((int)(tag >> 3), (int)(tag & 7));
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (AtEnd)
                {
                    break;
                }

                byte b = message[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("The ONNX file is not a well-formed protobuf message (a varint runs past its end).");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong length = Varint();
            if (length > (ulong)(message.Length - position))
            {
                throw new InvalidDataException("The ONNX file is not a well-formed protobuf message (a field runs past its end).");
            }

            var bytes = message.Slice(position, (int)length);
            position += (int)length;
            return bytes;
        }

        public void Skip(int wireType)
        {
            switch (wireType)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case LengthDelimited: Bytes(); break;
                case 5: Advance(4); break;
                default: throw new InvalidDataException($"The ONNX file is not a well-formed protobuf message (wire type {wireType}).");
            }
        }

        private void Advance(int count)
        {
            if (count > message.Length - position)
            {
                throw new InvalidDataException("The ONNX file is not a well-formed protobuf message (a field runs past its end).");
            }

            position += count;
        }
    }
}
