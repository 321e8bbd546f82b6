using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Api.Problems;

namespace TextClassification.Api.Security;

/// <summary>
/// Authenticates a request by its API key, sent as <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>.
/// The key is looked up by its hash (one indexed read) unless <see cref="ApiKeyCache"/> found it valid within
/// <c>Security:KeyCacheMilliseconds</c>; expiry is checked on every request, and a revocation made in this process
/// evicts the key at once. The key, as <see cref="AuthenticatedApiKey"/>, is set on the request's features for the
/// rate limiter and the scope checks.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IServiceProvider services,
    ApiKeyCache cache,
    TimeProvider clock)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string KeyIdClaim = "key_id";
    public const string ScopeClaim = "scope";

    /// <summary>How stale <see cref="ApiKey.LastUsedAt"/> may be: writing it on every request would make serving write-bound.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>True when the request presents a key at all (valid or not).</summary>
    public static bool HasCredentials(HttpRequest request) =>
        request.Headers.ContainsKey(HeaderName) || request.Headers.ContainsKey(HeaderNames.Authorization);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Context.GetEndpoint()?.Metadata.GetMetadata<HealthProbeMetadata>() is not null)
        {
            return AuthenticateResult.NoResult();
        }

        if (!TryReadKey(Request, out string? secret, out string? malformed)
            && !HangfireDashboardAuthorization.TryReadSessionCookie(Request, out secret))
        {
            return malformed is null ? AuthenticateResult.NoResult() : AuthenticateResult.Fail(malformed);
        }

        // One bound for keys from a header or the dashboard's cookie: a secret is 47 characters.
        if (secret.Length > 256)
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        Span<byte> hash = stackalloc byte[ApiKeySecrets.HashBytes];
        ApiKeySecrets.Hash(secret, hash);
        var cacheKey = ApiKeyCache.SecretHash.From(hash);
        var now = clock.GetUtcNow();
        if (!cache.TryGet(cacheKey, out var valid))
        {
            byte[] stored = hash.ToArray();

            // The database is asked only on a cache miss, so a cached request never creates a DbContext.
            var db = services.GetRequiredService<ServiceDbContext>();
            var key = await db.ApiKeys.AsNoTracking()
                .Where(k => k.SecretHash == stored)
                .Select(k => new { k.Id, k.Scopes, k.ExpiresAt, k.RevokedAt, k.LastUsedAt, k.RateLimitRequestsPerSecond, k.RateLimitBurst })
                .FirstOrDefaultAsync(Context.RequestAborted);
            if (key is null)
            {
                return AuthenticateResult.Fail("The API key is not valid.");
            }

            if (key.RevokedAt is not null)
            {
                return AuthenticateResult.Fail("The API key has been revoked.");
            }

            if (key.LastUsedAt is not { } used || now - used >= LastUsedResolution)
            {
                await db.ApiKeys.Where(k => k.Id == key.Id).ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, now), Context.RequestAborted);
            }

            valid = new AuthenticatedApiKey(key.Id, key.Scopes, key.ExpiresAt, RateLimit.Stored(key.RateLimitRequestsPerSecond, key.RateLimitBurst));
            cache.Add(cacheKey, valid);
        }

        if (valid.ExpiresAt is { } expires && expires <= now)
        {
            return AuthenticateResult.Fail("The API key has expired.");
        }

        Context.Features.Set(valid);
        return valid.Result;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        string detail = result.Failure?.Message
            ?? $"This endpoint needs an API key: send it as 'Authorization: Bearer <key>' or '{HeaderName}: <key>'.";
        Response.Headers.WWWAuthenticate = result.Failure is null
            ? $"Bearer realm=\"{Realm}\""
            : $"Bearer realm=\"{Realm}\", error=\"invalid_token\", error_description=\"{detail}\"";
        await ErrorResponses.WriteAsync(Context, StatusCodes.Status401Unauthorized, result.Failure is null ? "An API key is required." : "The API key was refused.", detail);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        string needed = Context.GetEndpoint()?.Metadata.GetMetadata<RequiredScopeMetadata>()?.Description ?? "another scope";
        return ErrorResponses.WriteAsync(Context, StatusCodes.Status403Forbidden, "The API key lacks the scope this endpoint needs.",
            $"This endpoint needs a key with {needed}; this key has {string.Join(", ", Context.User.FindAll(ScopeClaim).Select(c => c.Value))}.");
    }

    private const string Realm = "text-classification";

    /// <summary>The key the request sends in a header (<c>X-Api-Key</c> or <c>Authorization: Bearer</c>), if it sends a well-formed one.</summary>
    public static bool TryReadHeaderKey(HttpRequest request, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? secret) =>
        TryReadKey(request, out secret, out _);

    private static bool TryReadKey(HttpRequest request, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? secret, out string? malformed)
    {
        secret = null;
        malformed = null;
        if (request.Headers.TryGetValue(HeaderName, out var header))
        {
            secret = header.Count == 1 ? header[0]?.Trim() : null;
        }
        else if (request.Headers.TryGetValue(HeaderNames.Authorization, out var authorization))
        {
            string? value = authorization.Count == 1 ? authorization[0] : null;
            if (value is null || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                malformed = "The Authorization header must be 'Bearer <key>'.";
                return false;
            }

            secret = value["Bearer ".Length..].Trim();
        }
        else
        {
            return false;
        }

        if (string.IsNullOrEmpty(secret))
        {
            malformed = "The API key is not valid.";
            secret = null;
            return false;
        }

        return true;
    }
}
