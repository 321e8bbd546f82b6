using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Training.Export;
using TextClassification.Training.Export.Onnx.Proto;
using static TextClassification.Training.Tests.Export.ExportedClassifiers;

namespace TextClassification.Training.Tests.Export;

public sealed class ClassifierOnnxFormatTests
{
    public static TheoryData<string, OnnxQuantization> VariantsAndQuantizations
    {
        get
        {
            var data = new TheoryData<string, OnnxQuantization>();
            foreach (string variant in Variants.Keys)
            {
                data.Add(variant, OnnxQuantization.None);
                data.Add(variant, OnnxQuantization.DynamicInt8);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(VariantsAndQuantizations))]
    public void The_graph_imports_only_standard_opset_17_and_declares_the_serving_contract(string variant, OnnxQuantization quantization)
    {
        using var module = Randomised(variant);

        var model = ModelProto.Parser.ParseFrom(ClassifierOnnxExporter.Export(module, Metadata(module.Config), quantization));

        Assert.Equal(8, model.IrVersion);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal((string.Empty, 17L), (opset.Domain, opset.Version));
        Assert.All(model.Graph.Node, node => Assert.Equal(string.Empty, node.Domain));
        Assert.Equal(
            [(ClassifierMetadata.InputIdsName, 7, "batch", "sequence"), (ClassifierMetadata.AttentionMaskName, 7, "batch", "sequence")],
            model.Graph.Input.Select(i => (i.Name, i.Type.TensorType.ElemType, i.Type.TensorType.Shape.Dim[0].DimParam, i.Type.TensorType.Shape.Dim[1].DimParam)));
        var logits = Assert.Single(model.Graph.Output);
        Assert.Equal(ClassifierMetadata.LogitsName, logits.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, logits.Type.TensorType.ElemType);
        Assert.Equal("batch", logits.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(Labels.Length, logits.Type.TensorType.Shape.Dim[1].DimValue);
    }

    /// <summary>
    /// Serving time of the n-gram bag grows with every pass over its gathered vectors, the graph's largest value;
    /// the graph reads them only with its two reductions and the slice of each row's first vector (no masking product
    /// or sum over them), and masks ids instead.
    /// </summary>
    [Theory]
    [InlineData("ngram-bag mean", 2)]
    [InlineData("ngram-bag mean_max", 3)]
    [InlineData("ngram-bag mean_max, hidden 8", 3)]
    [InlineData("ngram-bag mean_max, word vectors 10", 3)]
    public void The_n_gram_bag_graph_reads_its_gathered_vectors_only_to_reduce_them(string variant, int readers)
    {
        using var module = Randomised(variant);

        var graph = ModelProto.Parser.ParseFrom(ClassifierOnnxExporter.Export(module, Metadata(module.Config))).Graph;

        var gather = Assert.Single(graph.Node, node => node.OpType == "Gather" && node.Input[0] == "embedding.weight");
        var consumers = graph.Node.Where(node => node.Input.Contains(gather.Output[0])).Select(node => node.OpType).Order().ToList();
        Assert.Equal(readers, consumers.Count);
        Assert.All(consumers, op => Assert.Contains(op, new[] { "ReduceSum", "ReduceMax", "Slice" }));
        Assert.DoesNotContain(graph.Node, node => node.OpType == "Where" && node.Input.Contains(gather.Output[0]));
    }

    [Theory]
    [InlineData(OnnxQuantization.None, null)]
    [InlineData(OnnxQuantization.DynamicInt8, "dynamic_int8")]
    public void The_metadata_round_trips_through_ONNX_Runtime_and_says_how_the_weights_are_stored(OnnxQuantization quantization, string? expected)
    {
        using var module = Randomised("ngram-bag mean_max");
        // A caller's stale quantization value must not reach the file: the exporter owns that key.
        var metadata = Metadata(module.Config) with { Quantization = "something_else" };

        using var session = new InferenceSession(ClassifierOnnxExporter.Export(module, metadata, quantization));
        var read = ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap);

        Assert.Equal("ngram-bag", read.Architecture);
        Assert.Equal(Labels, read.Labels);
        Assert.Equal(Tokenizer, read.Tokenizer);
        Assert.Equal(0.42, read.OutOfScopeThreshold);
        Assert.Equal("oos", read.OutOfScopeLabel);
        Assert.Equal(expected, read.Quantization);
    }

    [Fact]
    public void Metadata_that_does_not_describe_the_module_is_refused()
    {
        using var module = Randomised("transformer, 1 layer");
        var metadata = Metadata(module.Config);

        var wrongArchitecture = Assert.Throws<ArgumentException>(() => ClassifierOnnxExporter.Export(module, metadata with { Architecture = "ngram-bag" }));
        var wrongLabels = Assert.Throws<ArgumentException>(() => ClassifierOnnxExporter.Export(module, metadata with { Labels = ["a", "b"] }));
        var wrongTokenizer = Assert.Throws<ArgumentException>(() => ClassifierOnnxExporter.Export(
            module, metadata with { Tokenizer = Tokenizer with { Vocabulary = [.. Tokenizer.Vocabulary.Skip(1)] } }));

        Assert.Contains("transformer", wrongArchitecture.Message, StringComparison.Ordinal);
        Assert.Contains("2 labels", wrongLabels.Message, StringComparison.Ordinal);
        Assert.Contains($"{VocabularySize} rows", wrongTokenizer.Message, StringComparison.Ordinal);
    }
}
