using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Training.Export.Onnx;
using TextClassification.Training.Export.Onnx.Proto;
using static TextClassification.Training.Export.Onnx.Proto.AttributeProto.Types;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Export;

public sealed class OnnxModelFormatTests
{
    [Fact]
    public void A_written_model_parses_back_with_every_field_it_was_given()
    {
        var b = new OnnxGraphBuilder("round_trip");
        string x = b.AddInput("x", OnnxElementType.Float, "batch", 4);
        float[] weights = [1f, -2f, 3.5f, 0f, float.Epsilon, -0f, 1e30f, -7.25f];
        string w = b.AddInitializer("w", weights, 4, 2);
        string y = b.Softmax(b.LayerNormalization(b.MatMul(x, w), b.AddInitializer("gamma", [1f, 1f], 2), b.AddInitializer("beta", [0f, 0f], 2), epsilon: 1e-6f), axis: 1);
        string transposed = b.Transpose(y, 1, 0);
        string filled = b.ConstantOfShape(b.Shape(transposed), 2.5f);
        b.AddNode("Constant", [], OnnxAttribute.Floats("value_floats", 1.5f, -2f));
        b.AddNode("Constant", [], OnnxAttribute.String("value_string", "héllo"));
        b.AddOutput(filled, "out", OnnxElementType.Float, 2, "batch");

        var model = ModelProto.Parser.ParseFrom(b.ToModel(new Dictionary<string, string> { ["z"] = "last", ["labels"] = "a,b" }, "a test model"));

        Assert.Equal(8, model.IrVersion);
        Assert.Equal(OnnxGraphBuilder.ProducerName, model.ProducerName);
        Assert.Equal("a test model", model.DocString);
        Assert.Equal([("labels", "a,b"), ("z", "last")], model.MetadataProps.Select(p => (p.Key, p.Value)));

        var graph = model.Graph;
        Assert.Equal("round_trip", graph.Name);
        var input = Assert.Single(graph.Input);
        Assert.Equal("x", input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, input.Type.TensorType.ElemType);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(4, input.Type.TensorType.Shape.Dim[1].DimValue);
        var output = Assert.Single(graph.Output);
        Assert.Equal("out", output.Name);
        Assert.Equal(2, output.Type.TensorType.Shape.Dim[0].DimValue);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[1].DimParam);

        var weight = graph.Initializer.Single(i => i.Name == "w");
        Assert.Equal([4L, 2L], weight.Dims);
        Assert.Equal((int)TensorProto.Types.DataType.Float, weight.DataType);
        Assert.Equal(weights, MemoryMarshal.Cast<byte, float>(weight.RawData.Span).ToArray());

        Assert.Equal(
            ["MatMul", "LayerNormalization", "Softmax", "Transpose", "Shape", "ConstantOfShape", "Constant", "Constant", "Identity"],
            graph.Node.Select(n => n.OpType));
        Assert.Equal(graph.Node.Count, graph.Node.Select(n => n.Name).Distinct().Count());
        Assert.Equal(["x", "w"], graph.Node[0].Input);
        Assert.Equal(["MatMul_0"], graph.Node[0].Output);
        Assert.Equal(["ConstantOfShape_0"], graph.Node[^1].Input);
        AttributeProto Attribute(string op, string name) => graph.Node.First(n => n.OpType == op && n.Attribute.Any(a => a.Name == name)).Attribute.Single(a => a.Name == name);
        Assert.Equal((AttributeType.Float, 1e-6f), (Attribute("LayerNormalization", "epsilon").Type, Attribute("LayerNormalization", "epsilon").F));
        Assert.Equal((AttributeType.Int, 1L), (Attribute("Softmax", "axis").Type, Attribute("Softmax", "axis").I));
        Assert.Equal(AttributeType.Ints, Attribute("Transpose", "perm").Type);
        Assert.Equal([1L, 0L], Attribute("Transpose", "perm").Ints);
        Assert.Equal(AttributeType.Floats, Attribute("Constant", "value_floats").Type);
        Assert.Equal([1.5f, -2f], Attribute("Constant", "value_floats").Floats);
        Assert.Equal(AttributeType.String, Attribute("Constant", "value_string").Type);
        Assert.Equal("héllo", Attribute("Constant", "value_string").S.ToStringUtf8());
        var value = Attribute("ConstantOfShape", "value");
        Assert.Equal(AttributeType.Tensor, value.Type);
        Assert.Equal([1L], value.T.Dims);
        Assert.Equal([2.5f], MemoryMarshal.Cast<byte, float>(value.T.RawData.Span).ToArray());
    }

    [Theory]
    [InlineData(typeof(MeanPoolingNetwork))]
    [InlineData(typeof(AttentionNetwork))]
    [InlineData(typeof(ConvolutionNetwork))]
    public void Exported_models_import_only_the_standard_operator_set_at_version_17(Type network)
    {
        using var tiny = (TinyNetwork)Activator.CreateInstance(network)!;

        var model = ModelProto.Parser.ParseFrom(tiny.Export());

        Assert.Equal(8, model.IrVersion);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal(("", 17L), (opset.Domain, opset.Version));
        Assert.All(model.Graph.Node, n => Assert.Equal("", n.Domain));
    }

    [Fact]
    public void Onnx_runtime_sees_the_batch_and_sequence_dimensions_as_symbolic()
    {
        using var tiny = new MeanPoolingNetwork();
        using var session = new InferenceSession(tiny.Export());

        Assert.Equal(["input_ids", "attention_mask"], session.InputNames);
        Assert.All(session.InputMetadata.Values, input => Assert.Equal(["batch", "sequence"], input.SymbolicDimensions));
        Assert.Equal([-1, -1], session.InputMetadata["input_ids"].Dimensions);
        var logits = session.OutputMetadata["logits"];
        Assert.Equal(["batch", ""], logits.SymbolicDimensions);
        Assert.Equal([-1, 3], logits.Dimensions);
        Assert.Equal("mean_pooling", session.ModelMetadata.CustomMetadataMap["architecture"]);
    }

    [Fact]
    public void Tensor_initializers_hold_row_major_float32_whatever_the_layout_device_or_float_width()
    {
        using var scope = NewDisposeScope();
        var source = arange(12, dtype: ScalarType.Float64).reshape(3, 4);
        var transposed = source.t();
        var narrowed = source.narrow(0, 1, 2);
        var b = new OnnxGraphBuilder("tensors");
        b.AddInitializer("transposed", transposed);
        b.AddInitializer("narrowed", narrowed);
        b.AddInitializer("ids", tensor(new long[] { 5, -1, long.MaxValue }));
        b.AddOutput("ids", "ids", OnnxElementType.Int64, 3);

        var graph = ModelProto.Parser.ParseFrom(b.ToModel()).Graph;

        var t = graph.Initializer.Single(i => i.Name == "transposed");
        Assert.Equal((int)TensorProto.Types.DataType.Float, t.DataType);
        Assert.Equal([4L, 3L], t.Dims);
        Assert.Equal([0f, 4f, 8f, 1f, 5f, 9f, 2f, 6f, 10f, 3f, 7f, 11f], MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray());
        var n = graph.Initializer.Single(i => i.Name == "narrowed");
        Assert.Equal([2L, 4L], n.Dims);
        Assert.Equal([4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f], MemoryMarshal.Cast<byte, float>(n.RawData.Span).ToArray());
        var ids = graph.Initializer.Single(i => i.Name == "ids");
        Assert.Equal((int)TensorProto.Types.DataType.Int64, ids.DataType);
        Assert.Equal([5L, -1L, long.MaxValue], MemoryMarshal.Cast<byte, long>(ids.RawData.Span).ToArray());
        Assert.Throws<ArgumentException>(() => b.AddInitializer("int32", tensor(new int[] { 1 })));
    }

    [Fact]
    public void The_builder_refuses_wiring_mistakes_where_they_are_made()
    {
        var b = new OnnxGraphBuilder("mistakes");
        string x = b.AddInput("x", OnnxElementType.Float, "batch");

        Assert.Contains("'missing'", Assert.Throws<ArgumentException>(() => b.Add(x, "missing")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => b.AddInitializer("x", [1f], 1));
        Assert.Throws<ArgumentException>(() => b.AddInitializer("wrong_shape", [1f, 2f, 3f], 2, 2));
        Assert.Throws<InvalidOperationException>(() => b.ToModel());
        Assert.Same(b.Scalar(1f), b.Scalar(1f));
        Assert.NotEqual(b.Scalar(1f), b.Scalar(1L));
        Assert.Equal(b.Vector(0, 1), b.Vector(0, 1));
    }
}
