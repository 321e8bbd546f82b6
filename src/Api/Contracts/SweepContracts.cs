using System.Text.Json;
using System.Text.Json.Nodes;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Sweeps;

namespace TextClassification.Api.Contracts;

/// <summary>The body of <c>POST /v1/fine-tuning/sweeps</c>.</summary>
/// <param name="Job">The base job, as <c>POST /v1/fine-tuning/jobs</c> takes it; each trial changes only the searched hyperparameters.</param>
/// <param name="SearchSpace">By hyperparameter name: <c>choices</c>, or <c>low</c>/<c>high</c> with an optional <c>scale</c> and (grid) <c>points</c>.</param>
/// <param name="Method"><c>grid</c>, <c>random</c> or <c>tpe</c>.</param>
/// <param name="Objective"><c>validation_accuracy</c> (the default) or <c>validation_macro_f1</c>.</param>
/// <param name="MaxTrials">How many trials at most; a grid defaults to its size.</param>
/// <param name="MaxWallTimeSeconds">No trial starts after this long; running ones finish.</param>
/// <param name="ParallelTrials">Trials that run at once; by default as many as there are workers.</param>
/// <param name="Seed">Seeds the suggestions (not the training, which keeps the base job's seed).</param>
/// <param name="Register"><c>best</c> (the default): only the best trial registers a version; <c>all</c>: every succeeded trial does.</param>
/// <param name="EarlyStopping">Successive halving across trials; on by default.</param>
public sealed record CreateSweepRequest(
    CreateFineTuningJobRequest? Job,
    Dictionary<string, SearchRangeRequest?>? SearchSpace,
    string? Method,
    string? Objective = null,
    int? MaxTrials = null,
    int? MaxWallTimeSeconds = null,
    int? ParallelTrials = null,
    int? Seed = null,
    string? Register = null,
    EarlyStoppingRequest? EarlyStopping = null);

/// <summary>One searched hyperparameter: <c>choices</c>, or a range from <c>low</c> to <c>high</c>.</summary>
/// <param name="Low">The range's lower end, included.</param>
/// <param name="High">The range's upper end, included.</param>
/// <param name="Scale"><c>linear</c> (the default) or <c>log</c>.</param>
/// <param name="Points">Grid sweeps: how many evenly spaced values of the range to try.</param>
/// <param name="Choices">The values to pick from, instead of a range.</param>
public sealed record SearchRangeRequest(double? Low = null, double? High = null, string? Scale = null, int? Points = null, List<JsonElement>? Choices = null);

/// <summary>Successive halving: from <c>min_epochs</c>, at epochs <c>min_epochs·η^k</c>, about one trial in <c>reduction_factor</c> goes on.</summary>
public sealed record EarlyStoppingRequest(bool? Enabled = null, int? MinEpochs = null, int? ReductionFactor = null);

/// <summary>A sweep: its settings, its trials and the best of them.</summary>
public sealed record SweepResponse(
    string Id,
    string Object,
    string Status,
    string Model,
    string Method,
    string Objective,
    JsonElement SearchSpace,
    int MaxTrials,
    int? MaxWallTimeSeconds,
    int ParallelTrials,
    int Seed,
    string Register,
    EarlyStoppingRequest EarlyStopping,
    bool CancelRequested,
    IReadOnlyList<SweepTrialResponse> Trials,
    SweepTrialResponse? BestTrial,
    JobResult? Result,
    string? EndReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt)
{
    public static SweepResponse From(HyperparameterSweep sweep, IReadOnlyList<SweepTrialResponse> trials)
    {
        var spec = SweepSpec.FromJson(sweep.SpecJson);
        var space = new JsonObject();
        foreach (var dimension in spec.SearchSpace)
        {
            space[dimension.Name] = dimension.Choices is { } choices
                ? new JsonObject { ["choices"] = new JsonArray(choices.Select(c => c.DeepClone()).ToArray()) }
                : new JsonObject
                {
                    ["low"] = dimension.Kind == ParameterKind.Int ? JsonValue.Create((int)dimension.Low) : JsonValue.Create(dimension.Low),
                    ["high"] = dimension.Kind == ParameterKind.Int ? JsonValue.Create((int)dimension.High) : JsonValue.Create(dimension.High),
                    ["scale"] = dimension.Log ? "log" : "linear",
                    ["points"] = dimension.Points,
                };
        }

        return new SweepResponse(
            sweep.Id,
            "fine_tuning.sweep",
            sweep.Status.ToString().ToLowerInvariant(),
            sweep.Model,
            sweep.Method,
            spec.Objective,
            JsonSerializer.SerializeToElement(space),
            spec.MaxTrials,
            spec.MaxWallTimeSeconds,
            spec.ParallelTrials,
            spec.Seed,
            spec.RegisterAll ? "all" : "best",
            spec.EarlyStopping is { } halving ? new EarlyStoppingRequest(true, halving.MinEpochs, halving.ReductionFactor) : new EarlyStoppingRequest(false),
            sweep.CancelRequested,
            trials,
            sweep.BestTrialNumber is { } best ? trials.FirstOrDefault(t => t.Number == best) : null,
            sweep.ResultModel is { } model && sweep.ResultVersion is { } version ? new JobResult(model, version) : null,
            sweep.EndReason,
            sweep.CreatedAt,
            sweep.FinishedAt);
    }
}

/// <summary>A row of a sweep's trials table.</summary>
/// <param name="Number">0, 1, 2... in the order the sweep suggested them.</param>
/// <param name="JobId">The fine-tuning job that trains the trial.</param>
/// <param name="Parameters">The suggested values, by hyperparameter name.</param>
/// <param name="State"><c>running</c>, <c>succeeded</c>, <c>pruned</c> (stopped early), <c>failed</c> or <c>cancelled</c>.</param>
/// <param name="Objective">A succeeded trial's final evaluation; a pruned one's best epoch before it stopped.</param>
/// <param name="Epochs">Epochs the trial's job completed.</param>
/// <param name="PrunedAtEpoch">The epoch after which successive halving stopped it.</param>
/// <param name="Seconds">From the job's start to its end (or now, while it runs).</param>
/// <param name="Result">The version it registered, if the sweep registered one for it.</param>
public sealed record SweepTrialResponse(
    int Number,
    string JobId,
    JsonElement Parameters,
    string State,
    double? Objective,
    int Epochs,
    int? PrunedAtEpoch,
    double? Seconds,
    JobResult? Result);
