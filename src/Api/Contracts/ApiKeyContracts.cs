using TextClassification.Api.Security;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Contracts;

/// <summary>The body of <c>POST /v1/api-keys</c>.</summary>
/// <param name="Name">What the key is for (1–128 characters).</param>
/// <param name="Scopes">One or more of <c>admin</c>, <c>train</c>, <c>predict</c>.</param>
/// <param name="ExpiresAt">When the key stops working; absent for a key that does not expire.</param>
/// <param name="RateLimit">The key's own rate limit; absent for the configured default.</param>
public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string?>? Scopes, DateTimeOffset? ExpiresAt, RateLimitRequest? RateLimit = null);

/// <summary>A key's own rate limit.</summary>
/// <param name="RequestsPerSecond">Requests per second on average, 0 (no limit for this key) to 1,000,000.</param>
/// <param name="Burst">How many requests may come at once after a quiet spell, 1 to 10,000,000; twice the rate when absent.</param>
public sealed record RateLimitRequest(int? RequestsPerSecond, int? Burst);

/// <summary>The body of <c>PATCH /v1/api-keys/{id}</c>.</summary>
/// <param name="RateLimit">The key's new limit, or null to give it the configured default again.</param>
public sealed record UpdateApiKeyRequest(System.Text.Json.JsonElement RateLimit);

/// <summary>The limit a key is held to.</summary>
/// <param name="RequestsPerSecond">Requests per second on average; 0 means no limit.</param>
/// <param name="Burst">How many requests may come at once after a quiet spell.</param>
/// <param name="IsDefault">True when the key has no limit of its own and the configured default (<c>Security:RateLimit</c>) applies.</param>
public sealed record RateLimitResponse(int RequestsPerSecond, int Burst, bool IsDefault);

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
    DateTimeOffset? LastUsedAt,
    RateLimitResponse RateLimit)
{
    /// <summary>The key as listed, with the limit it is held to: its own, else <paramref name="defaultLimit"/>.</summary>
    public static ApiKeyResponse From(ApiKey key, RateLimit defaultLimit) => new(
        key.Id, "api_key", key.Name, ApiScopes.Names(key.Scopes).ToList(), key.Prefix, key.CreatedBy, key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.LastUsedAt,
        Security.RateLimit.Stored(key.RateLimitRequestsPerSecond, key.RateLimitBurst) is { } own
            ? new RateLimitResponse(own.RequestsPerSecond, own.Burst, false)
            : new RateLimitResponse(defaultLimit.RequestsPerSecond, defaultLimit.Burst, true));
}

/// <summary>A key just made: the only response that ever holds its <paramref name="Secret"/>.</summary>
public sealed record CreatedApiKeyResponse(string Secret, ApiKeyResponse Key);
