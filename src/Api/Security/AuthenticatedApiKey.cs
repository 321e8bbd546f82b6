using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Security;

/// <summary>A rate limit: a token bucket refilled at <paramref name="RequestsPerSecond"/> holding at most <paramref name="Burst"/> requests; 0 requests per second means no limit.</summary>
/// <param name="RequestsPerSecond">Requests per second on average; 0 for no limit.</param>
/// <param name="Burst">How many requests may come at once after a quiet spell.</param>
public readonly record struct RateLimit(int RequestsPerSecond, int Burst)
{
    public bool Limits => RequestsPerSecond > 0;

    /// <summary>
    /// A key's own limit as its row stores it, or null where the row has none (the default applies). The API always
    /// stores a burst with a rate; a row without one gets a burst of one second's requests.
    /// </summary>
    public static RateLimit? Stored(int? requestsPerSecond, int? burst) =>
        requestsPerSecond is { } perSecond ? new RateLimit(perSecond, burst ?? Math.Max(1, perSecond)) : null;
}

/// <summary>
/// A key found valid, as every request made with it needs it: who it is, what it may do, its rate limit (its own, or
/// null for the configured default), and the authentication result built once for it, so that a request with a
/// cached key allocates no claims. Set on the request's features by <see cref="ApiKeyAuthenticationHandler"/>.
/// </summary>
internal sealed class AuthenticatedApiKey
{
    public AuthenticatedApiKey(string keyId, ApiKeyScopes scopes, DateTimeOffset? expiresAt, RateLimit? rateLimit)
    {
        KeyId = keyId;
        Scopes = scopes;
        ExpiresAt = expiresAt;
        RateLimit = rateLimit;
        List<Claim> claims = [new(ApiKeyAuthenticationHandler.KeyIdClaim, keyId), new(ClaimTypes.NameIdentifier, keyId)];
        claims.AddRange(ApiScopes.Names(scopes).Select(scope => new Claim(ApiKeyAuthenticationHandler.ScopeClaim, scope)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthenticationHandler.SchemeName, ApiKeyAuthenticationHandler.KeyIdClaim, null));
        Result = AuthenticateResult.Success(new AuthenticationTicket(principal, ApiKeyAuthenticationHandler.SchemeName));
    }

    public string KeyId { get; }

    public ApiKeyScopes Scopes { get; }

    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>The key's own limit; null where <c>Security:RateLimit</c>'s default applies.</summary>
    public RateLimit? RateLimit { get; }

    /// <summary>The successful authentication, shared by every request with this key while it is cached (never mutated).</summary>
    public AuthenticateResult Result { get; }

    /// <summary>True when the key holds <paramref name="scope"/> (any of them, where it names several) or admin, which implies every scope.</summary>
    public bool Allows(ApiKeyScopes scope) => (Scopes & (scope | ApiKeyScopes.Admin)) != 0;
}
