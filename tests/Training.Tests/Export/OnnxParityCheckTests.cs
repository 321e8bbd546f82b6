using TextClassification.Training.Export;
using TextClassification.Training.Export.Onnx;

namespace TextClassification.Training.Tests.Export;

public sealed class OnnxParityCheckTests
{
    [Theory]
    [InlineData(typeof(MeanPoolingNetwork))]
    [InlineData(typeof(AttentionNetwork))]
    [InlineData(typeof(ConvolutionNetwork))]
    public void An_exported_network_matches_TorchSharp_within_1e4_on_batches_of_every_shape_in_one_session(Type network)
    {
        using var tiny = (TinyNetwork)Activator.CreateInstance(network)!;
        var batches = tiny.Batches();

        var result = OnnxParityCheck.Run(tiny.Export(), tiny.Forward, batches);

        Assert.True(result.Passes(1e-4), result.Describe());
        Assert.Equal(batches.Count, result.Batches.Count);
        Assert.Equal(3, result.Batches.Select(r => (r.BatchSize, r.SequenceLength)).Distinct().Count());
        Assert.Contains(result.Batches, r => r.BatchSize == 1);
        Assert.Contains(result.Batches, r => r.PaddedRows > 0);
        Assert.All(result.Batches, r => Assert.Equal([r.BatchSize, 3L], r.OnnxOutputShape));
    }

    [Fact]
    public void Padding_changes_nothing_for_the_real_tokens_of_a_row()
    {
        using var tiny = new AttentionNetwork();
        long[] row = [4, 8, 15, 16, 23];
        var alone = OnnxParityBatch.FromRows([row], padTokenId: 0);
        var padded = OnnxParityBatch.FromRows([row, [42, 42, 42, 42, 42, 42, 42, 42, 42]], padTokenId: 0);

        var result = OnnxParityCheck.Run(tiny.Export(), tiny.Forward, [alone, padded]);
        float[,] aloneLogits = tiny.Forward(alone.InputIds, alone.AttentionMask);
        float[,] paddedLogits = tiny.Forward(padded.InputIds, padded.AttentionMask);

        Assert.True(result.Passes(), result.Describe());
        for (int label = 0; label < 3; label++)
        {
            Assert.Equal(aloneLogits[0, label], paddedLogits[0, label], 1e-5f);
        }
    }

    [Fact]
    public void Perturbed_weights_fail_the_check_and_the_report_names_the_difference()
    {
        using var tiny = new MeanPoolingNetwork();
        byte[] exported = tiny.Export();
        tiny.PerturbClassifierBias(0.01f);

        var result = OnnxParityCheck.Run(exported, tiny.Forward, tiny.Batches());

        Assert.False(result.Passes());
        Assert.InRange(result.MaxAbsDifference, 0.0099, 0.0101);
        Assert.All(result.Batches, r => Assert.InRange(r.MaxAbsDifference, 0.0099, 0.0101));
        string report = result.Describe();
        Assert.Contains("does not match", report, StringComparison.Ordinal);
        Assert.Contains("0.01", report, StringComparison.Ordinal);
        Assert.Contains("[4x9, 3 padded]", report, StringComparison.Ordinal);
        Assert.Contains("[1x5, 0 padded]", report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_network_that_returns_the_wrong_shape_or_NaN_never_passes()
    {
        using var tiny = new MeanPoolingNetwork();
        byte[] exported = tiny.Export();

        var wrongShape = OnnxParityCheck.Run(exported, (ids, _) => new float[ids.GetLength(0), 2], tiny.Batches());
        var nan = OnnxParityCheck.Run(exported, (ids, mask) => WithNaN(tiny.Forward(ids, mask)), tiny.Batches());

        Assert.Equal(double.PositiveInfinity, wrongShape.MaxAbsDifference);
        Assert.False(wrongShape.Passes());
        Assert.Contains("torch [4, 2], onnx [4, 3]", wrongShape.Describe(), StringComparison.Ordinal);
        Assert.True(double.IsNaN(nan.MaxAbsDifference));
        Assert.False(nan.Passes(double.MaxValue));

        static float[,] WithNaN(float[,] logits)
        {
            logits[0, 0] = float.NaN;
            return logits;
        }
    }

    [Fact]
    public void Batches_without_a_single_row_or_without_padding_are_refused()
    {
        using var tiny = new MeanPoolingNetwork();
        byte[] exported = tiny.Export();
        var unpaddedSingle = OnnxParityBatch.FromRows([[1, 2, 3]], padTokenId: 0);
        var paddedPair = OnnxParityBatch.FromRows([[1, 2, 3], [4]], padTokenId: 0);

        Assert.Throws<ArgumentException>(() => OnnxParityCheck.Run(exported, tiny.Forward, [unpaddedSingle]));
        Assert.Throws<ArgumentException>(() => OnnxParityCheck.Run(exported, tiny.Forward, [paddedPair]));
        Assert.Throws<ArgumentException>(() => new OnnxParityBatch(new long[1, 3], new long[,] { { 1, 0, 1 } }));
    }

    [Fact]
    public void A_model_with_other_inputs_is_refused_with_what_it_takes()
    {
        var b = new OnnxGraphBuilder("other_inputs");
        string tokens = b.AddInput("tokens", OnnxElementType.Int64, "batch", "sequence");
        b.AddOutput(b.Cast(tokens, OnnxElementType.Float), "logits", OnnxElementType.Float, "batch", "sequence");
        using var tiny = new MeanPoolingNetwork();

        var error = Assert.Throws<InvalidOperationException>(() => OnnxParityCheck.Run(b.ToModel(), tiny.Forward, tiny.Batches()));

        Assert.Contains("[tokens]", error.Message, StringComparison.Ordinal);
    }
}
