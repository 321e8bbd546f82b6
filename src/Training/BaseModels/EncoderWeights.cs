using TextClassification.Training.Models;
using static TorchSharp.torch;

namespace TextClassification.Training.BaseModels;

/// <summary>One pretrained tensor: float32 values, row-major, and its shape.</summary>
public sealed record PretrainedTensor(float[] Values, long[] Shape)
{
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

/// <summary>
/// A pretrained BERT encoder's weights under this project's state-dict names (see <see cref="BertCheckpointNames"/>),
/// wherever they came from (the built-in ONNX file, an uploaded safetensors file), with linear weights as
/// <c>[out, in]</c>. Everything <see cref="BertClassifier"/> has except its head.
/// </summary>
public sealed class EncoderWeights
{
    private readonly Dictionary<string, PretrainedTensor> tensors;

    /// <param name="tensors">By this project's names; the constructor checks nothing, <see cref="Check"/> does.</param>
    public EncoderWeights(IReadOnlyDictionary<string, PretrainedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        this.tensors = new Dictionary<string, PretrainedTensor>(tensors, StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, PretrainedTensor> Tensors => tensors;

    /// <summary>Parameters the encoder holds, all of them float32 values.</summary>
    public long ParameterCount => tensors.Values.Sum(t => (long)t.Values.Length);

    /// <summary>
    /// Problems that keep these weights from filling an encoder of <paramref name="config"/>'s shape: a tensor
    /// missing, misshapen, or not part of the encoder at all. Each names the tensor (this project's name and, where
    /// it has one, Hugging Face's). Empty when they fit.
    /// </summary>
    public IReadOnlyList<string> Check(BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        var expected = ExpectedShapes(config);
        foreach (var (name, shape) in expected)
        {
            if (!tensors.TryGetValue(name, out var tensor))
            {
                errors.Add($"Tensor {BertCheckpointNames.Describe(name)} is missing.");
            }
            else if (!tensor.Shape.SequenceEqual(shape))
            {
                errors.Add($"Tensor {BertCheckpointNames.Describe(name)} has shape {tensor.ShapeText}; the config asks for [{string.Join(", ", shape)}].");
            }
            else if (tensor.Values.LongLength != shape.Aggregate(1L, (a, b) => a * b))
            {
                errors.Add($"Tensor {BertCheckpointNames.Describe(name)} holds {tensor.Values.LongLength} values for shape {tensor.ShapeText}.");
            }
        }

        foreach (var name in tensors.Keys.Where(name => !expected.ContainsKey(name)).Order(StringComparer.Ordinal).Take(5))
        {
            errors.Add($"Tensor {BertCheckpointNames.Describe(name)} belongs to no part of a {config.Layers}-layer encoder.");
        }

        return errors;
    }

    /// <summary>Copies every encoder tensor into <paramref name="module"/>; its head keeps its initial weights.</summary>
    /// <exception cref="InvalidDataException">The weights do not fit the module's shape (<see cref="Check"/>).</exception>
    public void LoadInto(BertClassifier module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var errors = Check((BertConfig)module.Config);
        if (errors.Count > 0)
        {
            throw new InvalidDataException(string.Join(" ", errors));
        }

        using var noGrad = no_grad();
        var parameters = module.state_dict();
        foreach (var (name, pretrained) in tensors)
        {
            using var source = tensor(pretrained.Values, pretrained.Shape);
            parameters[name].copy_(source);
        }
    }

    /// <summary>Parameters an encoder of <paramref name="config"/>'s shape holds (the head excluded).</summary>
    public static long ExpectedParameterCount(BertConfig config) =>
        ExpectedShapes(config).Values.Sum(shape => shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>Every encoder tensor (the head excluded) a <see cref="BertClassifier"/> of this shape has, with its shape.</summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedShapes(BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long hidden = config.HiddenSize;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["embeddings.word.weight"] = [config.VocabularySize, hidden],
            ["embeddings.position.weight"] = [config.MaxPositions, hidden],
            ["embeddings.token_type.weight"] = [config.TypeVocabularySize, hidden],
            ["embeddings.norm.weight"] = [hidden],
            ["embeddings.norm.bias"] = [hidden],
        };
        for (int i = 0; i < config.Layers; i++)
        {
            string layer = $"layers.{i}.";
            foreach (var projection in new[] { "query", "key", "value", "output" })
            {
                shapes[$"{layer}attention.{projection}.weight"] = [hidden, hidden];
                shapes[$"{layer}attention.{projection}.bias"] = [hidden];
            }

            shapes[$"{layer}attention_norm.weight"] = [hidden];
            shapes[$"{layer}attention_norm.bias"] = [hidden];
            shapes[$"{layer}feed_forward_in.weight"] = [config.IntermediateSize, hidden];
            shapes[$"{layer}feed_forward_in.bias"] = [config.IntermediateSize];
            shapes[$"{layer}feed_forward_out.weight"] = [hidden, config.IntermediateSize];
            shapes[$"{layer}feed_forward_out.bias"] = [hidden];
            shapes[$"{layer}feed_forward_norm.weight"] = [hidden];
            shapes[$"{layer}feed_forward_norm.bias"] = [hidden];
        }

        return shapes;
    }
}
