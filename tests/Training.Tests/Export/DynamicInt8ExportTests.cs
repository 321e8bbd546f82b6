using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Training.Export;
using TextClassification.Training.Export.Onnx.Proto;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;

namespace TextClassification.Training.Tests.Export;

/// <summary>Dynamically quantized exports of trained models; training seeds torch's process-wide generator, so these run alone.</summary>
[Collection(TorchCollection.Name)]
public sealed class DynamicInt8ExportTests
{
    private static readonly string[] Labels = ["banking", "music", "weather"];

    [Theory]
    [InlineData(ArchitectureRegistry.NGramBag)]
    [InlineData(ArchitectureRegistry.Transformer)]
    [InlineData(ArchitectureRegistry.Bert)]
    public void A_quantized_model_runs_in_ONNX_Runtime_and_predicts_what_the_float_model_predicts(string architecture)
    {
        var model = Trainer.Train(TinyData.Request(architecture)).Model;
        var texts = TinyData.Rows(20, seed: 5, Labels).Select(r => r.Text).ToList();

        var float32 = ExportedClassifiers.Probabilities(ClassifierOnnxExporter.Export(model), model.Tokenizer, texts);
        var int8 = ExportedClassifiers.Probabilities(ClassifierOnnxExporter.Export(model, OnnxQuantization.DynamicInt8), model.Tokenizer, texts);

        int agreeing = Enumerable.Range(0, texts.Count).Count(row => ArgMax(float32, row) == ArgMax(int8, row));
        double largestChange = Enumerable.Range(0, float32.Length).Max(i => Math.Abs(float32[i / 3, i % 3] - int8[i / 3, i % 3]));
        string summary = $"{agreeing}/{texts.Count} rows agree, largest probability change {largestChange:G3}";
        Assert.True(agreeing >= texts.Count * 0.95, summary);
        Assert.True(largestChange < 0.05, summary);
    }

    [Fact]
    public void A_quantized_n_gram_bag_stores_its_weights_as_uint8_in_under_a_third_of_the_bytes()
    {
        var model = Trainer.Train(TinyData.Request() with { Model = new NGramBagConfig { EmbeddingDim = 64, HiddenDim = 16 } }).Model;
        var metadataOnly = ClassifierOnnxExporter.Metadata(model).ToProperties().Sum(p => p.Key.Length + p.Value.Length);

        byte[] float32 = ClassifierOnnxExporter.Export(model);
        byte[] int8 = ClassifierOnnxExporter.Export(model, OnnxQuantization.DynamicInt8);

        // The tokenizer travels in the metadata of both; the weights are what quantization shrinks.
        double weightRatio = (double)(int8.Length - metadataOnly) / (float32.Length - metadataOnly);
        Assert.True(weightRatio < 1 / 3.0, $"int8 {int8.Length} bytes, float32 {float32.Length} bytes, {metadataOnly} of metadata in each");
        var graph = ModelProto.Parser.ParseFrom(int8).Graph;
        Assert.Contains(graph.Initializer, i => i.Name == "embedding.weight_quantized" && i.DataType == (int)TensorProto.Types.DataType.Uint8);
        Assert.DoesNotContain(graph.Initializer, i => i.Name == "embedding.weight");
        Assert.Equal(2, graph.Node.Count(n => n.OpType == "MatMulInteger"));
        Assert.Equal(2, graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
        Assert.DoesNotContain(graph.Node, n => n.OpType is "Gemm" or "MatMul");
        using var session = new InferenceSession(int8);
        Assert.Equal(ClassifierMetadata.DynamicInt8, ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap).Quantization);
    }

    private static int ArgMax(float[,] probabilities, int row) =>
        Enumerable.Range(0, probabilities.GetLength(1)).MaxBy(label => probabilities[row, label]);
}
