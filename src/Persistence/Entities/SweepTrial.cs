namespace TextClassification.Persistence.Entities;

/// <summary>One trial of a <see cref="HyperparameterSweep"/>: the parameters it suggested and the job that trains them.</summary>
public sealed class SweepTrial
{
    public long Id { get; init; }

    public required string SweepId { get; init; }

    /// <summary>0, 1, 2... in the order the sweep suggested them; a seeded sweep suggests the same parameters for the same number.</summary>
    public int Number { get; init; }

    /// <summary>The fine-tuning job that trains this trial; it carries the sweep's id too.</summary>
    public required string JobId { get; init; }

    /// <summary>The suggested values, by hyperparameter name, as a JSON object.</summary>
    public required string ParametersJson { get; init; }

    public SweepTrialState State { get; set; } = SweepTrialState.Running;

    /// <summary>
    /// The objective: the job's final evaluation once it succeeded; for a pruned trial, the best value its epochs
    /// reached before it was stopped.
    /// </summary>
    public double? Objective { get; set; }

    /// <summary>The epoch after which successive halving stopped the trial.</summary>
    public int? PrunedAtEpoch { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; set; }
}

public enum SweepTrialState
{
    Running,
    Succeeded,
    Pruned,
    Failed,
    Cancelled,
}
