namespace TextClassification.Persistence.Entities;

/// <summary>One entry in a job's event log: status changes, per-epoch metrics, throttled step losses, warnings.</summary>
public sealed class JobEvent
{
    /// <summary>Increases with every event written, so it doubles as the SSE <c>Last-Event-ID</c> cursor.</summary>
    public long Id { get; init; }

    public required string JobId { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public required string Level { get; init; }

    public required string Type { get; init; }

    public required string Message { get; init; }

    /// <summary>Structured details as JSON, or null.</summary>
    public string? DataJson { get; init; }
}
