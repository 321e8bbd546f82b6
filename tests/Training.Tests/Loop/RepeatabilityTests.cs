using TextClassification.Training.Export;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Loop;

/// <summary>
/// Same-seed training must not depend on what else the process does with torch. A worker exports one job's model
/// (building a module, which draws its initial weights from torch's process-wide generator) while the next job trains,
/// and an API process may host several workers: a run that drew its dropout masks from that shared generator got
/// different masks, and different metrics, whenever another draw slipped in between two of its steps.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class RepeatabilityTests
{
    [Theory]
    [InlineData(ArchitectureRegistry.NGramBag)]
    [InlineData(ArchitectureRegistry.Transformer)]
    public void Drawing_from_the_global_generator_between_steps_changes_nothing(string architecture)
    {
        var request = TinyData.Request(architecture);
        var quiet = new RecordingObserver();
        var undisturbed = Trainer.Train(request, quiet);

        // Between every two steps, do what the export step does on another thread: build a module (fresh random
        // weights), and draw from the global generator directly, as any other torch user may.
        var busy = new StepHook(() =>
        {
            using var module = ArchitectureRegistry.Get(architecture).Create(undisturbed.Model.ModelConfig);
            using var noise = rand(17);
        });
        var disturbed = Trainer.Train(request, busy);

        Assert.Equal(quiet.Steps.Select(s => s.Loss), busy.Steps.Select(s => s.Loss));
        Assert.Equal(undisturbed.Model.Weights, disturbed.Model.Weights);
    }

    [Fact]
    public void Reseeding_the_global_generator_during_a_run_changes_nothing()
    {
        var request = TinyData.Request(ArchitectureRegistry.Transformer);
        var quiet = new RecordingObserver();
        var undisturbed = Trainer.Train(request, quiet);

        var reseeding = new StepHook(() => manual_seed(12345));
        var disturbed = Trainer.Train(request, reseeding);

        Assert.Equal(quiet.Steps.Select(s => s.Loss), reseeding.Steps.Select(s => s.Loss));
        Assert.Equal(undisturbed.Model.Weights, disturbed.Model.Weights);
    }

    [Fact]
    public async Task Training_on_one_thread_while_another_exports_models_is_repeatable()
    {
        var request = TinyData.Request(ArchitectureRegistry.Transformer);
        var quiet = new RecordingObserver();
        var undisturbed = Trainer.Train(request, quiet);

        using var stop = new CancellationTokenSource();
        using var firstExport = new ManualResetEventSlim();
        var exporter = Task.Factory.StartNew(
            () =>
            {
                int exports = 0;
                while (!stop.IsCancellationRequested)
                {
                    using var module = ClassifierOnnxExporter.LoadServingModule(undisturbed.Model);
                    exports++;
                    firstExport.Set();
                }

                return exports;
            },
            TaskCreationOptions.LongRunning);

        // The run waits after its first step until the other thread has built a module, so the two surely overlap
        // however the threads are scheduled on a loaded machine.
        var concurrent = new StepHook(() => firstExport.Wait(TimeSpan.FromMinutes(1)));
        var disturbed = Trainer.Train(request, concurrent);
        stop.Cancel();
        int exports = await exporter;

        Assert.True(exports > 0, "the other thread built no module while the run trained");
        Assert.Equal(quiet.Steps.Select(s => s.Loss), concurrent.Steps.Select(s => s.Loss));
        Assert.Equal(undisturbed.Model.Weights, disturbed.Model.Weights);
    }

    /// <summary>Records the run like <see cref="RecordingObserver"/> and runs an action after every step.</summary>
    private sealed class StepHook(Action afterStep) : ITrainingObserver
    {
        public List<TrainingStep> Steps { get; } = [];

        public void OnStep(TrainingStep step)
        {
            Steps.Add(step);
            afterStep();
        }

        public void OnEpoch(EpochMetrics metrics)
        {
        }

        public void OnCheckpoint(TextClassification.Training.Checkpoints.TrainingCheckpoint checkpoint)
        {
        }
    }
}
