namespace TextClassification.Persistence.Entities;

/// <summary>
/// A hyperparameter sweep: many fine-tuning jobs (its trials, <see cref="SweepTrial"/>) over one search space. The row
/// holds what was asked (<see cref="SpecJson"/>) and where the sweep stands; the orchestrator on a worker reads it
/// and its trials on every tick, so a restarted worker carries on from here.
/// </summary>
public sealed class HyperparameterSweep
{
    public required string Id { get; init; }

    public SweepStatus Status { get; set; } = SweepStatus.Running;

    /// <summary>The registry name the trials train for (the base job's <c>model</c>).</summary>
    public required string Model { get; init; }

    /// <summary><c>grid</c>, <c>random</c> or <c>tpe</c>.</summary>
    public required string Method { get; init; }

    /// <summary>The whole checked request (base job, search space, budget, pruning) as JSON in snake_case.</summary>
    public required string SpecJson { get; init; }

    /// <summary>Set by the cancel endpoint; the orchestrator cancels every active trial and ends the sweep.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>The trial whose job scored best, once one has succeeded.</summary>
    public int? BestTrialNumber { get; set; }

    /// <summary>The version the sweep registered for its best trial (with <c>register: all</c>, every trial's own).</summary>
    public string? ResultModel { get; set; }

    public int? ResultVersion { get; set; }

    /// <summary>Why the sweep ended: budget spent, wall time reached, cancelled, every trial failed.</summary>
    public string? EndReason { get; set; }

    /// <summary>The worker whose orchestrator drives the sweep; another takes over once <see cref="LeaseExpiresAt"/> passes.</summary>
    public string? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Optimistic concurrency token: the cancel endpoint and the orchestrators of several workers write the row.</summary>
    public Guid ConcurrencyStamp { get; set; } = Guid.NewGuid();

    public bool IsActive => Status == SweepStatus.Running;
}

public enum SweepStatus
{
    Running,
    Succeeded,
    Failed,
    Cancelled,
}
