namespace TextClassification.Persistence.Entities;

/// <summary>
/// One change made through the API: who (a key id, <c>anonymous</c> or <c>bootstrap</c>), what (an action on a
/// resource), when and from where. <see cref="Details"/> holds a few non-secret facts (a name, a version); never a
/// key's secret, a customer's text or a dataset's rows.
/// </summary>
public sealed class AuditEntry
{
    /// <summary>Id prefix: <c>aud_</c> followed by a ULID, so ids sort by time and page like the other lists.</summary>
    public const string IdPrefix = "aud_";

    public required string Id { get; init; }

    public DateTimeOffset OccurredAt { get; init; }

    /// <summary>The key id that made the change, or <c>anonymous</c> or <c>bootstrap</c>.</summary>
    public required string Actor { get; init; }

    /// <summary>What was done, as <c>resource.verb</c>: <c>dataset.upload</c>, <c>api_key.revoke</c>.</summary>
    public required string Action { get; init; }

    /// <summary>The kind of resource changed: <c>dataset</c>, <c>fine_tuning_job</c>, <c>model_version</c>, <c>model_alias</c>, <c>api_key</c>.</summary>
    public required string ResourceType { get; init; }

    /// <summary>The resource's id (<c>ds_…</c>, <c>support-intents:2</c>, <c>support-intents/production</c>).</summary>
    public required string ResourceId { get; init; }

    /// <summary>The caller's address as the server saw it; null when unknown (an in-process test host).</summary>
    public string? RemoteIp { get; init; }

    /// <summary>Small non-secret facts about the change, by name.</summary>
    public Dictionary<string, string> Details { get; init; } = [];
}
