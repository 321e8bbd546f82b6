using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Sweeps;

/// <summary>The objectives a sweep maximises, by the names requests use.</summary>
public static class SweepObjectives
{
    public const string ValidationAccuracy = "validation_accuracy";
    public const string ValidationMacroF1 = "validation_macro_f1";

    public static IReadOnlyList<string> All { get; } = [ValidationAccuracy, ValidationMacroF1];

    /// <summary>The objective of a succeeded trial: its job's final evaluation on the validation data.</summary>
    public static double? FromEvaluation(string objective, string? evaluationJson)
    {
        if (evaluationJson is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(evaluationJson);
        string field = objective == ValidationMacroF1 ? "macro_f1" : "accuracy";
        return document.RootElement.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
    }

    /// <summary>The objective after one epoch, from the figures the epoch's checkpoint row holds.</summary>
    public static double? FromEpoch(string objective, string? metricsJson) =>
        FromEpoch(objective, Jobs.JobEventLog.Deserialize<Jobs.JobMetrics>(metricsJson));

    /// <summary>The objective after one epoch, from the figures its checkpoint row holds or is about to.</summary>
    public static double? FromEpoch(string objective, Jobs.JobMetrics? metrics) =>
        objective == ValidationMacroF1 ? metrics?.ValidationMacroF1 : metrics?.ValidationAccuracy;
}

/// <summary>The job every trial starts from, checked when the sweep was created; a trial changes only its searched hyperparameters.</summary>
public sealed record SweepJobTemplate(
    string Model,
    string? BaseModel,
    string Architecture,
    string HyperparametersJson,
    string TrainingDatasetId,
    string? ValidationDatasetId,
    double? ValidationSplit,
    string? OutOfScopeLabel,
    string? Quantization)
{
    /// <summary>The base hyperparameters with <paramref name="parameters"/> set over them.</summary>
    public Hyperparameters HyperparametersWith(IReadOnlyDictionary<string, JsonNode> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var resolved = JsonNode.Parse(HyperparametersJson)!.AsObject();
        foreach (var (name, value) in parameters)
        {
            resolved[name] = value.DeepClone();
        }

        return resolved.Deserialize<Hyperparameters>(TrainingJson.Options)!;
    }

    /// <summary>A new queued job for one trial of <paramref name="sweepId"/>.</summary>
    public FineTuningJob NewTrialJob(string sweepId, IReadOnlyDictionary<string, JsonNode> parameters, TimeProvider clock) => new()
    {
        Id = ResourceId.New(ResourceId.FineTuningJobPrefix, clock),
        Model = Model,
        BaseModel = BaseModel,
        Architecture = Architecture,
        HyperparametersJson = JsonSerializer.Serialize(HyperparametersWith(parameters), TrainingJson.Options),
        TrainingDatasetId = TrainingDatasetId,
        ValidationDatasetId = ValidationDatasetId,
        ValidationSplit = ValidationSplit,
        OutOfScopeLabel = OutOfScopeLabel,
        Quantization = Quantization,
        SweepId = sweepId,
        CreatedAt = clock.GetUtcNow(),
    };
}

/// <summary>
/// A sweep as checked and stored (<see cref="HyperparameterSweep.SpecJson"/>): what each trial trains, what is
/// searched and how, what is maximised, and the budget.
/// </summary>
public sealed record SweepSpec
{
    public required SweepJobTemplate Job { get; init; }

    /// <summary>The searched hyperparameters, in the request's order (a grid's last changes fastest).</summary>
    public required IReadOnlyList<SearchDimension> SearchSpace { get; init; }

    public required string Method { get; init; }

    public required string Objective { get; init; }

    public required int MaxTrials { get; init; }

    /// <summary>No trial starts after this long (running ones finish); null for no limit.</summary>
    public int? MaxWallTimeSeconds { get; init; }

    public required int ParallelTrials { get; init; }

    public int Seed { get; init; }

    /// <summary>Every succeeded trial registers a version (<c>register: all</c>); otherwise only the best one.</summary>
    public bool RegisterAll { get; init; }

    /// <summary>Successive halving across trials; null to let every trial run its epochs.</summary>
    public SuccessiveHalving? EarlyStopping { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, TrainingJson.Options);

    public static SweepSpec FromJson(string json) => JsonSerializer.Deserialize<SweepSpec>(json, TrainingJson.Options)!;

    public ISweepSampler Sampler() => SweepMethods.Create(Method, SearchSpace, Seed, MaxTrials);

    /// <summary>A trial's parameters as stored on its row.</summary>
    public static IReadOnlyDictionary<string, JsonNode> ParametersOf(string parametersJson) =>
        JsonNode.Parse(parametersJson)!.AsObject().ToDictionary(p => p.Key, p => p.Value!.DeepClone(), StringComparer.Ordinal);

    public static string Describe(IReadOnlyDictionary<string, JsonNode> parameters) =>
        string.Join(", ", parameters.Select(p => $"{p.Key} {p.Value.ToJsonString()}"));

    internal static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
