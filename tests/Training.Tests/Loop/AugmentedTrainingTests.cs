using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data.Augmentation;
using TextClassification.Training.Distillation;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Tests.Loop;

[Collection(TorchCollection.Name)]
public sealed class AugmentedTrainingTests
{
    private static readonly AugmentationSettings Augmentation = new() { WordDeletion = 0.1, WordSwap = 0.1, WordInsertion = 0.1, Typos = 0.1, Copies = 2 };

    private static TrainingRequest Augmented(AugmentationSettings? augmentation = null, int seed = 7) =>
        TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Augmentation = augmentation ?? Augmentation, Seed = seed } };

    [Fact]
    public void The_same_seed_gives_identical_augmented_runs_and_each_epoch_trains_on_the_variants_too()
    {
        var first = new RecordingObserver();
        var second = new RecordingObserver();
        var plain = new RecordingObserver();

        var a = Trainer.Train(Augmented(), first);
        var b = Trainer.Train(Augmented(), second);
        var c = Trainer.Train(Augmented(seed: 8));
        var unaugmented = Trainer.Train(TinyData.Request(), plain);

        Assert.Equal(a.Model.Weights, b.Model.Weights);
        Assert.Equal(first.Steps.Select(s => s.Loss), second.Steps.Select(s => s.Loss));
        Assert.NotEqual(a.Model.Weights, c.Model.Weights);
        Assert.NotEqual(a.Model.Weights, unaugmented.Model.Weights);
        // 120 texts and two variants of each: 360 rows, 23 batches of 16 per epoch, against 8 without.
        Assert.Equal(3 * 23, first.Steps.Count);
        Assert.Equal(3 * 8, plain.Steps.Count);
        Assert.Equal(3 * 23, first.Steps[^1].TotalSteps);
    }

    [Fact]
    public void A_distilling_run_with_augmentation_trains_each_variant_towards_its_original_texts_teacher_logits()
    {
        var request = Augmented();
        var labels = request.Train.Select(row => row.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        // A teacher sure of each text's own label, so the student has something to agree with.
        var logits = request.Train.DistinctBy(row => row.Text).ToDictionary(
            row => row.Text, row => (ReadOnlyMemory<float>)labels.Select(label => label == row.Label ? 4f : 0f).ToArray(), StringComparer.Ordinal);
        var distilling = request with { Teacher = new TeacherTargets { Labels = labels, LogitsByText = logits } };

        var result = Trainer.Train(distilling);

        // Variants sit past the original rows; looking their teacher logits up by their own row would read beyond them.
        Assert.Equal(3, result.EpochsRun);
        Assert.True(result.Evaluation is null || result.Evaluation.Accuracy > 0.5, $"accuracy {result.Evaluation?.Accuracy}");
    }

    [Fact]
    public void An_augmentation_with_no_technique_on_trains_exactly_as_none()
    {
        var none = Trainer.Train(TinyData.Request());
        var off = Trainer.Train(Augmented(new AugmentationSettings { Copies = 4 }, seed: TinyData.Hyperparameters.Seed));

        Assert.Equal(none.Model.Weights, off.Model.Weights);
    }

    [Fact]
    public void Resuming_an_augmented_run_reproduces_the_uninterrupted_one()
    {
        var request = Augmented();
        var uninterrupted = new RecordingObserver();
        var whole = Trainer.Train(request, uninterrupted);

        using var cancellation = new CancellationTokenSource();
        var interrupted = new RecordingObserver(o =>
        {
            if (o.Checkpoints.Count == 2)
            {
                cancellation.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(request, interrupted, cancellation.Token));
        using var stream = new MemoryStream();
        interrupted.Checkpoints[^1].WriteTo(stream);
        stream.Position = 0;
        var saved = TrainingCheckpoint.ReadFrom(stream);

        var resumedObserver = new RecordingObserver();
        var resumed = Trainer.Train(request with { Resume = saved }, resumedObserver);

        Assert.Equal(Augmentation, saved.Hyperparameters.Augmentation);
        Assert.Equal(uninterrupted.Steps.Skip(2 * 23).Select(s => s.Loss), resumedObserver.Steps.Select(s => s.Loss));
        Assert.Equal(whole.Model.Weights, resumed.Model.Weights);
    }
}
