using System.Diagnostics;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Tests.Loop;

[Collection(TorchCollection.Name)]
public sealed class TrainerTests
{
    [Theory]
    [InlineData(ArchitectureRegistry.NGramBag)]
    [InlineData(ArchitectureRegistry.Transformer)]
    [InlineData(ArchitectureRegistry.Bert)]
    public void A_tiny_model_learns_its_training_data(string architecture)
    {
        var request = TinyData.Request(architecture);
        if (architecture == ArchitectureRegistry.Transformer)
        {
            request = request with { Hyperparameters = request.Hyperparameters with { Epochs = 6, LearningRate = 0.01 } };
        }

        var observer = new RecordingObserver();

        var result = Trainer.Train(request, observer);

        Assert.True(observer.Epochs[^1].TrainLoss < observer.Epochs[0].TrainLoss * 0.7, $"train loss {observer.Epochs[0].TrainLoss} → {observer.Epochs[^1].TrainLoss}");
        Assert.True(observer.Steps[^1].Loss < observer.Steps[0].Loss);
        Assert.True(result.Evaluation!.Accuracy >= 0.9, $"validation accuracy {result.Evaluation.Accuracy}");
        Assert.Equal(request.Hyperparameters.Epochs, result.EpochsRun);
        Assert.Equal(["banking", "music", "weather"], result.Model.Labels);
    }

    [Fact]
    public void The_run_reports_every_step_and_epoch_and_checkpoints_after_each_epoch()
    {
        var observer = new RecordingObserver();

        Trainer.Train(TinyData.Request(), observer);

        // 120 rows in batches of 16: 8 steps per epoch, 3 epochs.
        Assert.Equal(Enumerable.Range(1, 24).Select(s => (long)s), observer.Steps.Select(s => s.Step));
        Assert.All(observer.Steps, s => Assert.Equal(24, s.TotalSteps));
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 2], observer.Steps.Take(9).Select(s => s.Epoch));
        Assert.Equal(TinyData.Hyperparameters.LearningRate * LearningRateSchedule.At(0, 24, 2, LearningRateScheduleKind.Linear), observer.Steps[0].LearningRate, 12);
        Assert.Equal([1, 2, 3], observer.Epochs.Select(e => e.Epoch));
        Assert.All(observer.Epochs, e => Assert.NotNull(e.ValidationMacroF1));
        Assert.Equal([1, 2, 3], observer.Checkpoints.Select(c => c.EpochsCompleted));
        Assert.Equal([8L, 16L, 24L], observer.Checkpoints.Select(c => c.GlobalStep));
        Assert.All(observer.Checkpoints, c => Assert.NotNull(c.OptimizerState));
        Assert.True(observer.Checkpoints[^1].Finished);
    }

    [Fact]
    public void The_same_seed_gives_identical_weights_and_losses()
    {
        var first = new RecordingObserver();
        var second = new RecordingObserver();

        var a = Trainer.Train(TinyData.Request(), first);
        var b = Trainer.Train(TinyData.Request(), second);
        var c = Trainer.Train(TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Seed = 8 } });

        Assert.Equal(a.Model.Weights, b.Model.Weights);
        Assert.Equal(first.Steps.Select(s => s.Loss), second.Steps.Select(s => s.Loss));
        Assert.Equal(first.Checkpoints[^1].OptimizerState, second.Checkpoints[^1].OptimizerState);
        Assert.NotEqual(a.Model.Weights, c.Model.Weights);
    }

    [Theory]
    [InlineData(ArchitectureRegistry.NGramBag)]
    [InlineData(ArchitectureRegistry.Transformer)]
    [InlineData(ArchitectureRegistry.Bert)]
    public void Resuming_from_the_second_epoch_checkpoint_reproduces_the_uninterrupted_third_epoch(string architecture)
    {
        var request = TinyData.Request(architecture);
        var uninterrupted = new RecordingObserver();
        var whole = Trainer.Train(request, uninterrupted);

        // Interrupt a second run right after its second checkpoint, as a stopping worker would.
        using var cancellation = new CancellationTokenSource();
        var interrupted = new RecordingObserver(o =>
        {
            if (o.Checkpoints.Count == 2)
            {
                cancellation.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(request, interrupted, cancellation.Token));
        var saved = RoundTrip(interrupted.Checkpoints[^1]);

        var resumedObserver = new RecordingObserver();
        var resumed = Trainer.Train(request with { Resume = saved }, resumedObserver);

        Assert.Equal(uninterrupted.Steps.Skip(16).Select(s => s.Loss), resumedObserver.Steps.Select(s => s.Loss));
        Assert.Equal(uninterrupted.Epochs[2], resumedObserver.Epochs.Single() with { Seconds = uninterrupted.Epochs[2].Seconds });
        Assert.Equal(uninterrupted.Checkpoints[2].Weights, resumedObserver.Checkpoints.Single().Weights);
        Assert.Equal(uninterrupted.Checkpoints[2].OptimizerState, resumedObserver.Checkpoints.Single().OptimizerState);
        Assert.Equal(whole.Model.Weights, resumed.Model.Weights);
        Assert.Equal(3, resumed.EpochsRun);
    }

    [Fact]
    public void Resuming_with_other_data_is_refused()
    {
        var observer = new RecordingObserver();
        Trainer.Train(TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 } }, observer);
        var request = TinyData.Request() with { Train = TinyData.Rows(40, seed: 99, "banking", "music", "weather"), Resume = observer.Checkpoints[0] };

        Assert.Throws<TrainingRequestException>(() => Trainer.Train(request));
    }

    [Fact]
    public void Cancellation_stops_training_within_two_seconds()
    {
        // Enough work to run for a long while: many epochs over more rows.
        var request = TinyData.Request() with
        {
            Train = TinyData.Rows(400, seed: 1, "banking", "music", "weather"),
            Hyperparameters = TinyData.Hyperparameters with { Epochs = 1000, BatchSize = 8 },
        };
        using var cancellation = new CancellationTokenSource();
        var cancelledAt = new Stopwatch();
        var observer = new CallbackObserver(step =>
        {
            if (step.Step == 5)
            {
                cancelledAt.Start();
                cancellation.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(request, observer, cancellation.Token));

        Assert.True(cancelledAt.Elapsed < TimeSpan.FromSeconds(2), $"stopped {cancelledAt.Elapsed} after cancellation");
        Assert.InRange(observer.LastStep, 5, 6);
    }

    [Fact]
    public void The_final_model_keeps_the_weights_of_the_best_validation_epoch()
    {
        var observer = new RecordingObserver();
        var request = TinyData.Request() with { Hyperparameters = TinyData.Hyperparameters with { Epochs = 5, LearningRate = 0.3 } };

        var result = Trainer.Train(request, observer);

        int best = observer.Epochs.MaxBy(e => e.ValidationMacroF1!.Value)!.Epoch;
        Assert.Equal(best, result.BestEpoch);
        Assert.Equal(observer.Checkpoints[best - 1].Weights, result.Model.Weights);
        Assert.Null(result.Model.OptimizerState);
        Assert.Equal(
            observer.Epochs.Select(e => e.IsBest),
            observer.Epochs.Select(e => observer.Epochs.Where(p => p.Epoch < e.Epoch).All(p => e.ValidationMacroF1 > p.ValidationMacroF1)));
    }

    [Fact]
    public void Early_stopping_ends_the_run_once_patience_runs_out()
    {
        var observer = new RecordingObserver();
        // Validation labels that contradict training: macro-F1 cannot keep improving.
        var request = TinyData.Request() with
        {
            Validation = TinyData.Rows(10, seed: 2, "banking", "music", "weather").Select(r => r with { Label = r.Label == "banking" ? "music" : r.Label == "music" ? "weather" : "banking" }).ToList(),
            Hyperparameters = TinyData.Hyperparameters with { Epochs = 20, EarlyStoppingPatience = 2 },
        };

        var result = Trainer.Train(request, observer);

        Assert.True(result.StoppedEarly);
        Assert.Equal(result.BestEpoch + 2, result.EpochsRun);
        Assert.Equal(result.EpochsRun, observer.Checkpoints.Count);
        Assert.True(observer.Checkpoints[^1].Finished);
    }

    [Fact]
    public void Out_of_scope_rows_are_not_a_class_and_choose_the_threshold()
    {
        var request = TinyData.Request() with
        {
            Train = TinyData.Rows(40, seed: 1, "banking", "music", "weather", TinyData.OutOfScope),
            Validation = TinyData.Rows(10, seed: 2, "banking", "music", "weather", TinyData.OutOfScope),
            OutOfScopeLabel = TinyData.OutOfScope,
        };

        var result = Trainer.Train(request);

        Assert.Equal(["banking", "music", "weather"], result.Model.Labels);
        Assert.NotNull(result.Model.OutOfScopeThreshold);
        var outOfScope = result.Evaluation!.OutOfScope!;
        Assert.Equal(30, outOfScope.InScopeExamples);
        Assert.Equal(10, outOfScope.OutOfScopeExamples);
        Assert.Equal(result.Model.OutOfScopeThreshold, outOfScope.Threshold);
        Assert.Equal(["banking", "music", "weather", TinyData.OutOfScope], result.Evaluation.Labels);
        Assert.True(outOfScope.OutOfScopeRecall > 0.5, $"out-of-scope recall {outOfScope.OutOfScopeRecall}");
        Assert.True(outOfScope.InScopeAccuracy > 0.8, $"in-scope accuracy {outOfScope.InScopeAccuracy}");

        using var classifier = TrainedClassifier.Load(RoundTrip(result.Model));
        Assert.Equal(result.Evaluation.Accuracy, classifier.Evaluate(request.Validation).Accuracy);
    }

    [Fact]
    public void Class_weights_leave_a_rare_label_learnable()
    {
        var train = TinyData.Rows(60, seed: 1, "banking", "music").Concat(TinyData.Rows(6, seed: 3, "weather")).ToList();

        var result = Trainer.Train(TinyData.Request() with { Train = train });

        var weather = result.Evaluation!.PerClass.Single(c => c.Label == "weather");
        Assert.True(weather.Recall >= 0.8, $"recall of the rare label {weather.Recall}");
    }

    [Fact]
    public void Unusable_requests_are_refused_before_training()
    {
        var request = TinyData.Request();

        Assert.Throws<TrainingRequestException>(() => Trainer.Train(request with { Architecture = "lstm" }));
        Assert.Throws<TrainingRequestException>(() => Trainer.Train(request with { Hyperparameters = request.Hyperparameters with { BatchSize = 0 } }));
        Assert.Throws<TrainingRequestException>(() => Trainer.Train(request with { Train = TinyData.Rows(5, 1, "music") }));
        Assert.Throws<TrainingRequestException>(() => Trainer.Train(request with { Validation = TinyData.Rows(5, 1, "travel") }));
    }

    private static TrainingCheckpoint RoundTrip(TrainingCheckpoint checkpoint)
    {
        using var stream = new MemoryStream();
        checkpoint.WriteTo(stream);
        stream.Position = 0;
        return TrainingCheckpoint.ReadFrom(stream);
    }

    private sealed class CallbackObserver(Action<TrainingStep> onStep) : ITrainingObserver
    {
        public long LastStep { get; private set; }

        public void OnStep(TrainingStep step)
        {
            LastStep = step.Step;
            onStep(step);
        }

        public void OnEpoch(EpochMetrics metrics)
        {
        }

        public void OnCheckpoint(TrainingCheckpoint checkpoint)
        {
        }
    }
}
