using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Contracts;

/// <summary>One recorded change: who (<c>actor</c>: a key id, <c>anonymous</c> or <c>bootstrap</c>), what, when, from where.</summary>
public sealed record AuditEntryResponse(
    string Id,
    string Object,
    DateTimeOffset OccurredAt,
    string Actor,
    string Action,
    string ResourceType,
    string ResourceId,
    string? RemoteIp,
    IReadOnlyDictionary<string, string> Details)
{
    public static AuditEntryResponse From(AuditEntry entry) => new(
        entry.Id, "audit.entry", entry.OccurredAt, entry.Actor, entry.Action, entry.ResourceType, entry.ResourceId, entry.RemoteIp, entry.Details);
}
