using TextClassification.Inference.Tokenization;
using TextClassification.Training.Export;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;
using static TextClassification.Training.Tests.Export.ExportedClassifiers;

namespace TextClassification.Training.Tests.Export;

public sealed class ClassifierParityTests
{
    [Theory]
    [MemberData(nameof(VariantNames), MemberType = typeof(ExportedClassifiers))]
    public void Every_architecture_and_variant_exports_a_graph_that_matches_the_network_within_1e4(string variant)
    {
        using var module = Randomised(variant);
        byte[] onnx = ClassifierOnnxExporter.Export(module, Metadata(module.Config));

        var result = ClassifierParity.Check(module, onnx, new TextTokenizer(Tokenizer), Texts(14, seed: 9));

        Assert.True(result.Passes(1e-4), result.Describe());
        Assert.True(result.MaxAbsDifference > 0 || result.Batches.All(b => b.MaxAbsDifference == 0));
        // Three standard batches, the first text alone, then the 42 texts as a batch of 32 and one of 10.
        Assert.Equal([4, 1, 3, 1, 32, 10], result.Batches.Select(b => b.BatchSize));
        Assert.Contains(result.Batches, b => b.BatchSize == 32 && b.PaddedRows > 0);
        Assert.All(result.Batches, b => Assert.Equal([b.BatchSize, Labels.Length], b.OnnxOutputShape));
    }

    [Fact]
    public void The_check_runs_the_network_in_eval_mode_and_gives_it_back_in_training_mode()
    {
        using var module = Randomised("ngram-bag mean_max, hidden 8");
        byte[] onnx = ClassifierOnnxExporter.Export(module, Metadata(module.Config));
        module.train();

        var result = ClassifierParity.Check(module, onnx, new TextTokenizer(Tokenizer), []);

        // Dropout is active in training mode, so passing shows the network side ran in eval mode.
        Assert.True(result.Passes(), result.Describe());
        Assert.True(module.training);
        Assert.Equal(3, result.Batches.Count);
    }

    [Fact]
    public void A_perturbed_initializer_fails_the_check_and_the_report_names_the_largest_difference_and_its_batch()
    {
        using var module = Randomised("ngram-bag mean_max");
        byte[] onnx = ClassifierOnnxExporter.Export(module, Metadata(module.Config));
        byte[] broken = WithInitializer(onnx, TextClassifierModule.ClassifierBias, bias => [bias[0] + 0.5f, .. bias[1..]]);

        var result = ClassifierParity.Check(module, broken, new TextTokenizer(Tokenizer), Texts(2, seed: 4));

        Assert.False(result.Passes());
        Assert.InRange(result.MaxAbsDifference, 0.4999, 0.5001);
        string report = result.Describe();
        Assert.Contains("does not match", report, StringComparison.Ordinal);
        Assert.Contains("logit difference 0.5 ", report, StringComparison.Ordinal);
        Assert.Contains($"largest in batch {result.WorstBatch + 1} of {result.Batches.Count} {result.Batches[result.WorstBatch]}", report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_weight_written_untransposed_fails_the_check()
    {
        using var module = Randomised("transformer, 1 layer");
        byte[] onnx = ClassifierOnnxExporter.Export(module, Metadata(module.Config));
        // The query projection is square, so the mistake still loads and runs: only parity can catch it.
        byte[] broken = WithInitializer(onnx, "layers.0.attention.query.weight_transposed", values => Transpose(values, 16));

        var result = ClassifierParity.Check(module, broken, new TextTokenizer(Tokenizer), []);

        Assert.False(result.Passes(), result.Describe());
        Assert.True(result.MaxAbsDifference > 1e-3, result.Describe());
    }

    private static float[] Transpose(float[] square, int size)
    {
        var result = new float[square.Length];
        for (int row = 0; row < size; row++)
        {
            for (int column = 0; column < size; column++)
            {
                result[(column * size) + row] = square[(row * size) + column];
            }
        }

        return result;
    }
}

/// <summary>Exports of trained checkpoints; training seeds torch's process-wide generator, so these run alone.</summary>
[Collection(TorchCollection.Name)]
public sealed class TrainedClassifierParityTests
{
    [Theory]
    [InlineData(ArchitectureRegistry.NGramBag)]
    [InlineData(ArchitectureRegistry.Transformer)]
    public void A_trained_checkpoint_exports_a_graph_that_matches_its_serving_weights_on_real_text(string architecture)
    {
        var run = Trainer.Train(TinyData.Request(architecture) with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 } });
        var texts = TinyData.Rows(5, seed: 11, "banking", "music", "weather").Select(r => r.Text).ToList();

        byte[] onnx = ClassifierOnnxExporter.Export(run.Model);
        var result = ClassifierParity.Check(run.Model, onnx, texts);

        Assert.True(result.Passes(), result.Describe());
        Assert.Equal(3 + 1 + 1, result.Batches.Count);
    }
}
