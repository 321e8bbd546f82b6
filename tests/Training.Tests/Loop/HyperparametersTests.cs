using System.Text.Json;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Tests.Loop;

public sealed class HyperparametersTests
{
    [Fact]
    public void Every_architecture_has_valid_defaults()
    {
        Assert.All(ArchitectureRegistry.All, architecture =>
        {
            Assert.Empty(architecture.DefaultHyperparameters.Validate());
            Assert.Empty(architecture.DefaultTokenizer.Validate());
        });
        Assert.Equal(ArchitectureRegistry.NGramBag, ArchitectureRegistry.Get(ArchitectureRegistry.Default).Name);
    }

    [Fact]
    public void Out_of_range_values_are_reported_by_their_serialised_names()
    {
        var errors = new Hyperparameters
        {
            Epochs = 0,
            BatchSize = 5000,
            LearningRate = double.NaN,
            WeightDecay = -1,
            Dropout = 1,
            MaxSequenceLength = 0,
            WarmupRatio = 1,
            LearningRateSchedule = (LearningRateScheduleKind)9,
            EarlyStoppingPatience = -1,
            LabelSmoothing = 1,
        }.Validate();

        Assert.Equal(
            ["epochs", "batch_size", "learning_rate", "weight_decay", "dropout", "max_sequence_length", "warmup_ratio", "lr_schedule", "early_stopping_patience", "label_smoothing"],
            errors.Select(e => e.Field));
    }

    [Fact]
    public void Overrides_replace_only_the_fields_they_set()
    {
        var defaults = ArchitectureRegistry.Get(ArchitectureRegistry.Transformer).DefaultHyperparameters;

        var resolved = new HyperparameterOverrides { Epochs = 2, LearningRateSchedule = LearningRateScheduleKind.Constant }.ApplyTo(defaults);

        Assert.Equal(defaults with { Epochs = 2, LearningRateSchedule = LearningRateScheduleKind.Constant }, resolved);
    }

    [Fact]
    public void Json_uses_snake_case_names_and_schedule_names_both_ways()
    {
        var hyperparameters = new Hyperparameters { LearningRateSchedule = LearningRateScheduleKind.Cosine, BatchSize = 8 };

        string json = JsonSerializer.Serialize(hyperparameters);
        var overrides = JsonSerializer.Deserialize<HyperparameterOverrides>("{\"lr_schedule\":\"constant\",\"warmup_ratio\":0.2}")!;

        Assert.Contains("\"lr_schedule\":\"cosine\"", json);
        Assert.Contains("\"batch_size\":8", json);
        Assert.Contains("\"early_stopping_patience\":", json);
        Assert.Equal(hyperparameters, JsonSerializer.Deserialize<Hyperparameters>(json));
        Assert.Equal(LearningRateScheduleKind.Constant, overrides.LearningRateSchedule);
        Assert.Equal(0.2, overrides.WarmupRatio);
        Assert.Null(overrides.Epochs);
    }
}
