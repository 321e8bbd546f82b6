using TextClassification.Api.Security;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Contracts;

/// <summary>The body of <c>POST /v1/api-keys</c>.</summary>
/// <param name="Name">What the key is for (1–128 characters).</param>
/// <param name="Scopes">One or more of <c>admin</c>, <c>train</c>, <c>predict</c>.</param>
/// <param name="ExpiresAt">When the key stops working; absent for a key that does not expire.</param>
public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string?>? Scopes, DateTimeOffset? ExpiresAt);

/// <summary>A key as listed: never its secret or hash; <c>prefix</c> is enough to recognise it.</summary>
public sealed record ApiKeyResponse(
    string Id,
    string Object,
    string Name,
    IReadOnlyList<string> Scopes,
    string Prefix,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt)
{
    public static ApiKeyResponse From(ApiKey key) => new(
        key.Id, "api_key", key.Name, ApiScopes.Names(key.Scopes).ToList(), key.Prefix, key.CreatedBy, key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.LastUsedAt);
}

/// <summary>A key just made: the only response that ever holds its <paramref name="Secret"/>.</summary>
public sealed record CreatedApiKeyResponse(string Secret, ApiKeyResponse Key);
