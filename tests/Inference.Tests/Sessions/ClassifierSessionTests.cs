using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tests.Support;
using TextClassification.Training.Export.Onnx;

namespace TextClassification.Inference.Tests.Sessions;

public sealed class ClassifierSessionTests
{
    private static ClassifierSession Create(byte[] model)
    {
        using var options = new SessionOptions();
        return ClassifierSession.Create(model, options, "CPU");
    }

    [Fact]
    public void A_session_reads_the_metadata_the_model_carries()
    {
        var session = Create(TinyClassifier.Build());
        try
        {
            var expected = TinyClassifier.Metadata();
            Assert.Equal(expected.Labels, session.Metadata.Labels);
            Assert.Equal(expected.Tokenizer, session.Metadata.Tokenizer);
            Assert.Equal((expected.Architecture, expected.OutOfScopeThreshold, expected.OutOfScopeLabel), (session.Metadata.Architecture, session.Metadata.OutOfScopeThreshold, session.Metadata.OutOfScopeLabel));
            Assert.Equal(3, session.LabelCount);
            Assert.Equal("CPU", session.ExecutionProvider);
        }
        finally
        {
            session.Release();
        }
    }

    [Fact]
    public void Each_batch_is_padded_to_its_own_longest_row_and_padding_never_changes_a_row()
    {
        var session = Create(TinyClassifier.Build());
        try
        {
            var alone = session.Run(["alpha"]);
            var padded = session.Run(["alpha", "beta gamma delta epsilon"]);
            var again = session.Run(["beta"]);

            Assert.Equal(1, alone.SequenceLength);
            Assert.Equal(4, padded.SequenceLength);
            Assert.Equal(1, again.SequenceLength);
            Assert.Equal(alone.Logits, padded.Logits.AsSpan(0, 3).ToArray());
            Assert.Equal([TinyClassifier.Strength, 0f, 0f], alone.Logits);

            // "beta gamma delta epsilon" votes for labels 1, 2, 0, 1: the mean of the real positions only.
            Assert.Equal([1f, 2f, 1f], padded.Logits.AsSpan(3, 3).ToArray());
        }
        finally
        {
            session.Release();
        }
    }

    [Fact]
    public void Warm_up_runs_a_single_row_and_a_full_batch_of_the_longest_sequence()
    {
        var session = Create(TinyClassifier.Build());
        try
        {
            session.WarmUp(maxBatchSize: 8);
            Assert.Equal(8, session.Run(Enumerable.Repeat("alpha", 8).ToArray()).Rows);
        }
        finally
        {
            session.Release();
        }
    }

    [Fact]
    public void A_graph_without_classifier_metadata_is_refused()
    {
        var b = new OnnxGraphBuilder("not_a_classifier");
        string ids = b.AddInput(ClassifierMetadata.InputIdsName, OnnxElementType.Int64, "batch", "sequence");
        b.AddOutput(b.Cast(ids, OnnxElementType.Float), ClassifierMetadata.LogitsName, OnnxElementType.Float, "batch", "sequence");

        var error = Assert.Throws<InvalidDataException>(() => Create(b.ToModel()));
        Assert.Contains("it was not exported by this service", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_graph_whose_inputs_are_not_the_agreed_ones_is_refused()
    {
        var b = new OnnxGraphBuilder("wrong_inputs");
        string ids = b.AddInput("tokens", OnnxElementType.Int64, "batch", "sequence");
        b.AddOutput(b.Cast(ids, OnnxElementType.Float), ClassifierMetadata.LogitsName, OnnxElementType.Float, "batch", "sequence");

        var error = Assert.Throws<InvalidDataException>(() => Create(b.ToModel(TinyClassifier.Metadata().ToProperties())));
        Assert.Contains("input named 'input_ids'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_session_is_disposed_only_when_the_last_lease_is_released()
    {
        var session = Create(TinyClassifier.Build());
        Assert.True(session.TryAcquire());

        session.Release(); // the owner's reference: a lease is still out
        Assert.False(session.IsDisposed);
        Assert.Equal(1, session.Run(["alpha"]).Rows);

        session.Release();
        Assert.True(session.IsDisposed);
        Assert.False(session.TryAcquire());
    }
}
