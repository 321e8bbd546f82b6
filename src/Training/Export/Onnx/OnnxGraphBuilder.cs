using System.Globalization;
using System.Reflection;
using Google.Protobuf;
using TextClassification.Training.Export.Onnx.Proto;
using TorchSharp;

namespace TextClassification.Training.Export.Onnx;

/// <summary>
/// Writes an ONNX model (IR version 8, the standard operator set at version 17, nothing custom) one node at a time,
/// for exporters that turn trained TorchSharp weights into a graph any ONNX runtime can run.
/// </summary>
/// <remarks>
/// Every method that creates a value returns its name, and node inputs are those names, so graphs read as nested
/// calls: <c>b.Relu(b.Add(b.MatMul(x, w), bias))</c>. Nodes can only consume values that already exist, which keeps
/// the node list in the topological order ONNX requires and turns a wiring mistake into an exception at the call
/// that made it rather than a load failure in a runtime. Generated names are <c>{op}_{n}</c>; names given by the
/// caller (inputs, initializers, outputs) must be unique across the graph.
/// </remarks>
public sealed partial class OnnxGraphBuilder
{
    /// <summary>The ONNX IR version written; 8 is what opset 17 shipped with and every current runtime reads.</summary>
    public const long IrVersion = 8;

    /// <summary>The version of the standard operator set (domain "") the graph is written against.</summary>
    public const long OpsetVersion = 17;

    public const string ProducerName = "TextClassification.Training";

    private readonly GraphProto graph;
    private readonly HashSet<string> values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> nextSuffix = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> constants = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(string graphName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        graph = new GraphProto { Name = graphName };
    }

    /// <summary>Declares a graph input and returns its name.</summary>
    /// <param name="name">The name callers feed, e.g. <c>input_ids</c>.</param>
    /// <param name="type">The element type.</param>
    /// <param name="shape">Its dimensions: symbols for dynamic ones (<c>"batch"</c>), sizes for fixed ones.</param>
    public string AddInput(string name, OnnxElementType type, params OnnxDim[] shape)
    {
        Define(name);
        graph.Input.Add(ValueInfo(name, type, shape));
        return name;
    }

    /// <summary>
    /// Declares <paramref name="value"/> as the graph output <paramref name="name"/>, through an Identity node when
    /// the names differ.
    /// </summary>
    public void AddOutput(string value, string name, OnnxElementType type, params OnnxDim[] shape)
    {
        RequireDefined(value);
        if (value != name)
        {
            Define(name);
            graph.Node.Add(Node("Identity", name, [value], [name], []));
        }
        else if (graph.Output.Any(o => o.Name == name))
        {
            throw new ArgumentException($"'{name}' is already a graph output.", nameof(name));
        }

        graph.Output.Add(ValueInfo(name, type, shape));
    }

    /// <summary>Adds a float32 constant (a weight) of shape <paramref name="dims"/> and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<float> values, params long[] dims) =>
        AddInitializer(name, OnnxTensors.Create(name, values, dims));

    /// <summary>Adds an int64 constant of shape <paramref name="dims"/> and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<long> values, params long[] dims) =>
        AddInitializer(name, OnnxTensors.Create(name, values, dims));

    /// <summary>Adds a uint8 constant (quantized weights, zero points) of shape <paramref name="dims"/> and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<byte> values, params long[] dims) =>
        AddInitializer(name, OnnxTensors.Create(name, values, dims));

    /// <summary>
    /// Adds a TorchSharp tensor as a constant of its own shape: floating-point tensors as float32, int64 tensors as
    /// int64, uint8 tensors as uint8. The tensor is copied; it may live on any device and is not disposed.
    /// </summary>
    public string AddInitializer(string name, torch.Tensor tensor) =>
        AddInitializer(name, OnnxTensors.Create(name, tensor));

    /// <summary>A float32 scalar constant; asking twice for the same value returns the same initializer.</summary>
    public string Scalar(float value) =>
        Constant($"f:{BitConverter.SingleToInt32Bits(value)}", () => OnnxTensors.Create(UniqueName("const"), [value], []));

    /// <summary>A uint8 scalar constant (a zero point); asking twice for the same value returns the same initializer.</summary>
    public string ScalarUInt8(byte value) =>
        Constant($"u8:{value}", () => OnnxTensors.Create(UniqueName("const"), new byte[] { value }, []));

    /// <summary>An int64 scalar constant; asking twice for the same value returns the same initializer.</summary>
    public string Scalar(long value) =>
        Constant($"i:{value}", () => OnnxTensors.Create(UniqueName("const"), [value], []));

    /// <summary>A 1-D int64 constant (axes, shapes, slice bounds); equal vectors share one initializer.</summary>
    public string Vector(params long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Constant(
            "v:" + string.Join(',', values.Select(v => v.ToString(CultureInfo.InvariantCulture))),
            () => OnnxTensors.Create(UniqueName("const"), values, [values.Length]));
    }

    /// <summary>Adds a node with one output and returns the output's (generated) name.</summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes) =>
        AddNode(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their (generated) names.</summary>
    /// <param name="opType">A standard operator of opset 17, e.g. <c>MatMul</c>.</param>
    /// <param name="inputs">Existing value names; an empty string stands for an omitted optional input.</param>
    /// <param name="outputCount">How many outputs to name.</param>
    /// <param name="attributes">The node's attributes.</param>
    public IReadOnlyList<string> AddNode(string opType, IReadOnlyList<string> inputs, int outputCount, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputCount, 1);
        foreach (string input in inputs)
        {
            if (input.Length > 0)
            {
                RequireDefined(input);
            }
        }

        string baseName = UniqueName(opType);
        string[] outputs = outputCount == 1
            ? [baseName]
            : Enumerable.Range(0, outputCount).Select(i => $"{baseName}_out{i}").ToArray();
        foreach (string output in outputs)
        {
            Define(output);
        }

        graph.Node.Add(Node(opType, baseName, inputs, outputs, attributes));
        return outputs;
    }

    /// <summary>
    /// A name not yet used in the graph: <c>{prefix}_{n}</c>, with n counting up per prefix. Reserve it by using it
    /// (as an input, initializer or output name) before asking again.
    /// </summary>
    public string UniqueName(string prefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        int suffix = nextSuffix.GetValueOrDefault(prefix);
        string name;
        do
        {
            name = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{suffix++}");
        }
        while (values.Contains(name));

        nextSuffix[prefix] = suffix;
        return name;
    }

    /// <summary>The serialized model: the graph so far, the standard opset 17 import, and <paramref name="metadata"/>.</summary>
    /// <param name="metadata">Key-value pairs runtimes expose as custom metadata (written sorted by key).</param>
    /// <param name="docString">A description of the model.</param>
    public byte[] ToModel(IReadOnlyDictionary<string, string>? metadata = null, string? docString = null) =>
        BuildModel(metadata, docString).ToByteArray();

    internal ModelProto BuildModel(IReadOnlyDictionary<string, string>? metadata = null, string? docString = null)
    {
        if (graph.Output.Count == 0)
        {
            throw new InvalidOperationException($"Graph '{graph.Name}' has no outputs; declare them with {nameof(AddOutput)}.");
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? string.Empty,
            DocString = docString ?? string.Empty,
            Graph = graph.Clone(),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        foreach (var (key, value) in (metadata ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return model;
    }

    private string AddInitializer(string name, TensorProto tensor)
    {
        Define(name);
        graph.Initializer.Add(tensor);
        return name;
    }

    private string Constant(string key, Func<TensorProto> create)
    {
        if (!constants.TryGetValue(key, out string? name))
        {
            var tensor = create();
            name = AddInitializer(tensor.Name, tensor);
            constants[key] = name;
        }

        return name;
    }

    private void Define(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!values.Add(name))
        {
            throw new ArgumentException($"A value named '{name}' already exists in graph '{graph.Name}'.", nameof(name));
        }
    }

    private void RequireDefined(string name)
    {
        if (!values.Contains(name))
        {
            throw new ArgumentException($"No value named '{name}' exists yet in graph '{graph.Name}'; nodes can only use inputs, initializers and earlier outputs.", nameof(name));
        }
    }

    private static NodeProto Node(string opType, string nodeName, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyList<OnnxAttribute> attributes)
    {
        // Trailing omitted optional inputs are dropped rather than written as empty names.
        int inputCount = inputs.Count;
        while (inputCount > 0 && inputs[inputCount - 1].Length == 0)
        {
            inputCount--;
        }

        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.Add(inputs.Take(inputCount));
        node.Output.Add(outputs);
        node.Attribute.Add(attributes.Select(a => a.Proto));
        return node;
    }

    private static ValueInfoProto ValueInfo(string name, OnnxElementType type, OnnxDim[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var tensorShape = new TensorShapeProto();
        tensorShape.Dim.Add(shape.Select(d => d switch
        {
            { Symbol: { } symbol } => new TensorShapeProto.Types.Dimension { DimParam = symbol },
            { Size: { } size } => new TensorShapeProto.Types.Dimension { DimValue = size },
            _ => throw new ArgumentException($"Value '{name}' has an uninitialized dimension; use OnnxDim.Fixed or OnnxDim.Dynamic.", nameof(shape)),
        }));
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }
}
