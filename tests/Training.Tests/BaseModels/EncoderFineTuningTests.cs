using TextClassification.Inference.Tokenization;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.BaseModels;

[Collection(TorchCollection.Name)]
public sealed class EncoderFineTuningTests
{
    [Fact]
    public void A_fine_tuned_minilm_keeps_the_encoders_tokenizer_and_shape_with_a_head_for_its_labels()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        request = request with { Hyperparameters = request.Hyperparameters with { Epochs = 1, TrainLayers = 0 } };

        var result = Trainer.Train(request);

        var config = Assert.IsType<BertConfig>(result.Model.ModelConfig);
        Assert.Equal(TinyData.MiniLm.Config with { LabelCount = 3, Dropout = request.Hyperparameters.Dropout }, config);
        Assert.Equal(TokenizerKind.WordPiece, result.Model.Tokenizer.Settings.Kind);
        Assert.Equal(32, result.Model.Tokenizer.Settings.MaxSequenceLength);
        Assert.Equal(TinyData.MiniLm.Tokenizer.Vocabulary, result.Model.Tokenizer.Vocabulary);
        Assert.Equal(ArchitectureRegistry.Bert, result.Model.Architecture);
    }

    [Fact]
    public void Fine_tuning_every_layer_of_minilm_learns_the_intents()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        request = request with { Hyperparameters = request.Hyperparameters with { TrainLayers = null, Epochs = 2 } };
        var observer = new RecordingObserver();

        var result = Trainer.Train(request, observer);

        Assert.True(observer.Epochs[^1].TrainLoss < observer.Epochs[0].TrainLoss, $"train loss {observer.Epochs[0].TrainLoss} → {observer.Epochs[^1].TrainLoss}");
        Assert.True(result.Evaluation!.Accuracy >= 0.9, $"validation accuracy {result.Evaluation.Accuracy} (chance is 1/3)");
        using var module = new BertClassifier((BertConfig)result.Model.ModelConfig);
        ModelWeights.Load(module, result.Model.Weights);
        var pretrained = TinyData.MiniLm.Weights.Tensors["embeddings.word.weight"];
        using var embedding = tensor(pretrained.Values, pretrained.Shape);
        Assert.False(embedding.allclose(module.state_dict()["embeddings.word.weight"], rtol: 0, atol: 0), "the embeddings did not train");
    }

    [Fact]
    public void With_train_layers_0_only_the_head_changes_and_it_still_learns()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        request = request with { Hyperparameters = request.Hyperparameters with { TrainLayers = 0, LearningRate = 5e-3, Epochs = 4 } };

        var result = Trainer.Train(request);

        using var module = new BertClassifier((BertConfig)result.Model.ModelConfig);
        ModelWeights.Load(module, result.Model.Weights);
        using var pristine = new BertClassifier((BertConfig)result.Model.ModelConfig);
        TinyData.MiniLm.Weights.LoadInto(pristine);
        var trained = module.state_dict();
        foreach (var (name, original) in pristine.state_dict())
        {
            if (!name.StartsWith("classifier.", StringComparison.Ordinal))
            {
                Assert.True(original.allclose(trained[name], rtol: 0, atol: 0), $"{name} changed although the encoder was frozen");
            }
        }

        Assert.False(pristine.state_dict()["classifier.weight"].allclose(trained["classifier.weight"], rtol: 0, atol: 0));
        Assert.True(result.Evaluation!.Accuracy >= 0.8, $"validation accuracy {result.Evaluation.Accuracy} (chance is 1/3)");
        // The run scored validation on vectors it embedded once; the whole network, as exported, agrees.
        using var classifier = TrainedClassifier.Load(result.Model);
        var whole = classifier.Evaluate(request.Validation);
        Assert.Equal(result.Evaluation.Accuracy, whole.Accuracy);
        Assert.Equal(result.Evaluation.MacroF1, whole.MacroF1, 6);
    }

    [Fact]
    public void Training_the_top_layer_leaves_the_embeddings_and_lower_layers_as_they_were()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        request = request with { Hyperparameters = request.Hyperparameters with { TrainLayers = 1, Epochs = 1 } };

        var result = Trainer.Train(request);

        using var module = new BertClassifier((BertConfig)result.Model.ModelConfig);
        ModelWeights.Load(module, result.Model.Weights);
        var trained = module.state_dict();
        var pretrained = TinyData.MiniLm.Weights.Tensors;
        using var embedding = tensor(pretrained["embeddings.word.weight"].Values, pretrained["embeddings.word.weight"].Shape);
        using var lower = tensor(pretrained["layers.4.feed_forward_in.weight"].Values, pretrained["layers.4.feed_forward_in.weight"].Shape);
        using var top = tensor(pretrained["layers.5.feed_forward_in.weight"].Values, pretrained["layers.5.feed_forward_in.weight"].Shape);
        Assert.True(embedding.allclose(trained["embeddings.word.weight"], rtol: 0, atol: 0));
        Assert.True(lower.allclose(trained["layers.4.feed_forward_in.weight"], rtol: 0, atol: 0));
        Assert.False(top.allclose(trained["layers.5.feed_forward_in.weight"], rtol: 0, atol: 0));
    }

    [Fact]
    public void Probing_the_head_before_fine_tuning_starts_from_a_trained_head_and_stays_repeatable()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        var probed = request with { Hyperparameters = request.Hyperparameters with { ProbeEpochs = 5, Epochs = 1 } };
        var unprobed = request with { Hyperparameters = request.Hyperparameters with { ProbeEpochs = 0, Epochs = 1 } };
        var withProbe = new RecordingObserver();
        var withoutProbe = new RecordingObserver();

        var first = Trainer.Train(probed, withProbe);
        var again = Trainer.Train(probed);
        Trainer.Train(unprobed, withoutProbe);

        // The first step's loss is the head's before any encoder update: a probed head starts far below chance (ln 3).
        Assert.True(withProbe.Steps[0].Loss < withoutProbe.Steps[0].Loss * 0.8, $"first loss {withProbe.Steps[0].Loss} with the probe, {withoutProbe.Steps[0].Loss} without");
        Assert.Equal(first.Model.Weights, again.Model.Weights);
        Assert.Equal(1, first.EpochsRun);
        Assert.True(first.Evaluation!.Accuracy >= 0.9, $"validation accuracy {first.Evaluation.Accuracy}");
    }

    [Fact]
    public void Cancelling_an_encoder_run_stops_it_at_the_next_batch()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        request = request with { Hyperparameters = request.Hyperparameters with { Epochs = 100, BatchSize = 8, ProbeEpochs = 2 } };
        using var cancellation = new CancellationTokenSource();
        var observer = new RecordingObserver();
        var stopping = new CancellingObserver(observer, step => step == 3, cancellation);

        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(request, stopping, cancellation.Token));

        // Checked before every batch: the step that was running when the token fired is the last one. (Timing is
        // asserted for the n-gram bag in TrainerTests; an encoder step on a loaded two-core machine can take seconds.)
        Assert.Equal(3, observer.Steps[^1].Step);
        Assert.Empty(observer.Checkpoints);
    }

    [Fact]
    public void A_job_that_asks_for_more_positions_than_the_encoder_has_is_refused()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert);
        request = request with { Hyperparameters = request.Hyperparameters with { MaxSequenceLength = 513 } };

        var error = Assert.Throws<TrainingRequestException>(() => Trainer.Train(request));

        Assert.Contains("512 positions", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bert_run_without_a_pretrained_encoder_is_refused()
    {
        var request = TinyData.Request(ArchitectureRegistry.Bert) with { Pretrained = null };

        var error = Assert.Throws<TrainingRequestException>(() => Trainer.Train(request));

        Assert.Contains("pretrained encoder", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Passes steps on to <paramref name="inner"/> and cancels once <paramref name="when"/> says so.</summary>
    private sealed class CancellingObserver(RecordingObserver inner, Func<long, bool> when, CancellationTokenSource cancellation) : ITrainingObserver
    {
        public void OnStep(TrainingStep step)
        {
            inner.OnStep(step);
            if (when(step.Step))
            {
                cancellation.Cancel();
            }
        }

        public void OnEpoch(EpochMetrics metrics) => inner.OnEpoch(metrics);

        public void OnCheckpoint(TrainingCheckpoint checkpoint) => inner.OnCheckpoint(checkpoint);
    }
}
