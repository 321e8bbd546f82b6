using Microsoft.AspNetCore.Http.HttpResults;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// <c>/v1/api-keys</c>: make, list, change the rate limit of and revoke API keys (admin only), and the caller's own
/// key (any key). A key's secret is returned once, when it is made.
/// </summary>
internal static class ApiKeysEndpoints
{
    private const int MaxNameLength = 128;
    private const int MaxRequestsPerSecond = 1_000_000;
    private const int MaxBurst = 10_000_000;

    public static IEndpointRouteBuilder MapApiKeysEndpoints(this IEndpointRouteBuilder app)
    {
        // Mapped before the admin group: a literal segment outranks {id} either way, but the policy differs.
        app.MapGet("/v1/api-keys/current", CurrentKey)
            .WithTags("API keys")
            .RequireScope(ApiScopes.AnyKeyPolicy)
            .WithName("GetCurrentApiKey")
            .WithSummary("The key this request is made with: its scopes, expiry and rate limit (any valid key)")
            .WithDescription("Lets a client such as the web console find out what its key may do, without the admin scope.")
            .WithResponseExample(StatusCodes.Status200OK, Examples.Key);

        var group = app.MapGroup("/v1/api-keys").WithTags("API keys").RequireScope(ApiScopes.AdminPolicy);

        group.MapPost("/", CreateKey)
            .WithName("CreateApiKey")
            .WithSummary("Make an API key; its secret is in this response only")
            .WithDescription("""
                `name` (1–128 characters), `scopes` (one or more of `admin`: everything; `train`: datasets, fine-tuning
                jobs and registry changes; `predict`: predictions and model metadata) and optionally `expires_at` (in the
                future), and optionally `rate_limit`: `requests_per_second` (0 for no limit on this key) and `burst`
                (twice the rate when left out); without it the key gets the configured default
                (`Security:RateLimit:PermitsPerSecond` and `Burst`). The response holds `secret` once; the service keeps
                only its SHA-256 and cannot show it again.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithRequestExample(new CreateApiKeyRequest("support-bot production", [ApiScopes.Predict], Examples.Key.ExpiresAt, new RateLimitRequest(200, 400)))
            .WithResponseExample(StatusCodes.Status201Created, new CreatedApiKeyResponse("tcs_q3Vw8ZkP0Yb4cN1mT7rLx2sHf9gJd6eA5uKo0iWzEyQ", Examples.Key));

        group.MapGet("/", ListKeys)
            .WithName("ListApiKeys")
            .WithSummary("List API keys, newest first, revoked ones included; never their secrets")
            .WithResponseExample(StatusCodes.Status200OK, new DataResponse<ApiKeyResponse>([Examples.Key]));

        group.MapPatch("/{id}", UpdateKey)
            .WithName("UpdateApiKey")
            .WithSummary("Change a key's rate limit")
            .WithDescription("""
                `rate_limit`: `{"requests_per_second": 200, "burst": 400}` gives the key a limit of its own (0 requests
                per second: none for this key); `null` gives it the configured default again. Takes effect on this
                process at once, and on other API processes within `Security:KeyCacheMilliseconds`.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The key id.", Examples.Key.Id)
            .WithRequestExample(new UpdateApiKeyRequest(System.Text.Json.JsonDocument.Parse("""{"requests_per_second": 500, "burst": 1000}""").RootElement))
            .WithResponseExample(StatusCodes.Status200OK, Examples.Key);

        group.MapDelete("/{id}", RevokeKey)
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key: refused from the next request on")
            .WithDescription("Revoking a revoked key changes nothing. The key stays listed, with `revoked_at`.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The key id.", Examples.Key.Id);

        return app;
    }

    private static async Task<Created<CreatedApiKeyResponse>> CreateKey(
        CreateApiKeyRequest? request, ServiceDbContext db, AuditLog audit, HttpContext context, TimeProvider clock, IOptions<SecurityOptions> security, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var errors = new List<ProblemError>();
        string name = request?.Name?.Trim() ?? string.Empty;
        if (name.Length is 0 or > MaxNameLength)
        {
            errors.Add(ProblemError.ForField("name", $"name is required: 1 to {MaxNameLength} characters saying what the key is for."));
        }

        var scopes = ApiKeyScopes.None;
        if (request?.Scopes is not { Count: > 0 } requested)
        {
            errors.Add(ProblemError.ForField("scopes", $"scopes is required: one or more of {string.Join(", ", ApiScopes.All)}."));
        }
        else
        {
            for (int i = 0; i < requested.Count; i++)
            {
                if (ApiScopes.TryParse(requested[i], out var scope))
                {
                    scopes |= scope;
                }
                else
                {
                    errors.Add(ProblemError.ForField($"scopes[{i}]", $"'{requested[i]}' is not a scope; use {string.Join(", ", ApiScopes.All)}."));
                }
            }
        }

        if (request?.ExpiresAt is { } expires && expires <= now)
        {
            errors.Add(ProblemError.ForField("expires_at", "expires_at must be in the future."));
        }

        var limit = request?.RateLimit is { } asked ? ValidateRateLimit(asked, errors) : null;

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        string secret = ApiKeySecrets.NewSecret();
        var key = new ApiKey
        {
            Id = ResourceId.New(ApiKey.IdPrefix, clock),
            Name = name,
            Prefix = ApiKeySecrets.VisiblePrefix(secret),
            SecretHash = ApiKeySecrets.Hash(secret),
            Scopes = scopes,
            CreatedBy = context.User.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value ?? AuditLog.Anonymous,
            CreatedAt = now,
            ExpiresAt = request!.ExpiresAt,
            RateLimitRequestsPerSecond = limit?.RequestsPerSecond,
            RateLimitBurst = limit?.Burst,
        };
        db.ApiKeys.Add(key);
        var details = new Dictionary<string, string> { ["name"] = key.Name, ["scopes"] = string.Join(' ', ApiScopes.Names(scopes)) };
        if (key.ExpiresAt is { } at)
        {
            details["expires_at"] = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }

        if (limit is { } own)
        {
            details["rate_limit"] = Describe(own);
        }

        audit.Add(AuditLog.Actions.ApiKeyCreate, AuditLog.Resources.ApiKey, key.Id, details);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/v1/api-keys/{key.Id}", new CreatedApiKeyResponse(secret, ApiKeyResponse.From(key, security.Value.RateLimit.Default)));
    }

    private static async Task<Ok<DataResponse<ApiKeyResponse>>> ListKeys(ServiceDbContext db, IOptions<SecurityOptions> security, CancellationToken cancellationToken)
    {
        var keys = await db.ApiKeys.AsNoTracking().OrderByDescending(k => k.Id).ToListAsync(cancellationToken);
        var defaultLimit = security.Value.RateLimit.Default;
        return TypedResults.Ok(new DataResponse<ApiKeyResponse>(keys.Select(k => ApiKeyResponse.From(k, defaultLimit)).ToList()));
    }

    private static async Task<Ok<ApiKeyResponse>> CurrentKey(HttpContext context, ServiceDbContext db, IOptions<SecurityOptions> security, CancellationToken cancellationToken)
    {
        // The policy admitted the request, so the authentication handler put its key on the features.
        string id = context.Features.Get<AuthenticatedApiKey>()!.KeyId;
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("API key", id);
        return TypedResults.Ok(ApiKeyResponse.From(key, security.Value.RateLimit.Default));
    }

    private static async Task<Ok<ApiKeyResponse>> UpdateKey(
        string id, UpdateApiKeyRequest? request, ServiceDbContext db, AuditLog audit, ApiKeyCache cache, IOptions<JsonOptions> json, IOptions<SecurityOptions> security, CancellationToken cancellationToken)
    {
        var errors = new List<ProblemError>();
        RateLimit? limit = null;
        switch (request?.RateLimit.ValueKind ?? JsonValueKind.Undefined)
        {
            case JsonValueKind.Null:
                break;
            case JsonValueKind.Object:
                var asked = request!.RateLimit.Deserialize<RateLimitRequest>(json.Value.SerializerOptions)!;
                limit = ValidateRateLimit(asked, errors);
                break;
            default:
                errors.Add(ProblemError.ForField("rate_limit",
                    "rate_limit is required: an object such as {\"requests_per_second\": 200, \"burst\": 400}, or null for the configured default."));
                break;
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("API key", id);
        key.RateLimitRequestsPerSecond = limit?.RequestsPerSecond;
        key.RateLimitBurst = limit?.Burst;
        audit.Add(AuditLog.Actions.ApiKeyUpdate, AuditLog.Resources.ApiKey, key.Id, new() { ["rate_limit"] = limit is { } own ? Describe(own) : "default" });
        await db.SaveChangesAsync(cancellationToken);
        cache.Evict(key.Id);
        return TypedResults.Ok(ApiKeyResponse.From(key, security.Value.RateLimit.Default));
    }

    /// <summary>The limit asked for, or null with the reasons added to <paramref name="errors"/>.</summary>
    private static RateLimit? ValidateRateLimit(RateLimitRequest asked, List<ProblemError> errors)
    {
        int before = errors.Count;
        if (asked.RequestsPerSecond is not (>= 0 and <= MaxRequestsPerSecond))
        {
            errors.Add(ProblemError.ForField("rate_limit.requests_per_second",
                $"rate_limit.requests_per_second is required: 0 (no limit for this key) to {MaxRequestsPerSecond}."));
        }

        if (asked.Burst is { } burst && burst is < 1 or > MaxBurst)
        {
            errors.Add(ProblemError.ForField("rate_limit.burst", $"rate_limit.burst must be 1 to {MaxBurst}; leave it out for twice the rate."));
        }

        if (errors.Count > before)
        {
            return null;
        }

        int perSecond = asked.RequestsPerSecond!.Value;
        return new RateLimit(perSecond, asked.Burst ?? (int)Math.Clamp(2L * perSecond, 1, MaxBurst));
    }

    private static string Describe(RateLimit limit) => limit.Limits
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{limit.RequestsPerSecond}/s burst {limit.Burst}")
        : "none";

    private static async Task<NoContent> RevokeKey(string id, ServiceDbContext db, AuditLog audit, ApiKeyCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("API key", id);
        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.GetUtcNow();
            audit.Add(AuditLog.Actions.ApiKeyRevoke, AuditLog.Resources.ApiKey, key.Id, new() { ["name"] = key.Name });
            await db.SaveChangesAsync(cancellationToken);
        }

        cache.Evict(key.Id);
        return TypedResults.NoContent();
    }

    private static class Examples
    {
        private static readonly DateTimeOffset Created = new(2026, 11, 23, 9, 30, 0, TimeSpan.Zero);

        public static readonly ApiKeyResponse Key = new(
            "key_01kaq3m5t8y9c2b7n4x6r0w1zd", "api_key", "support-bot production", [ApiScopes.Predict], "tcs_q3Vw8ZkP",
            "key_01kaq3k0a1b2c3d4e5f6g7h8j9", Created, Created.AddYears(1), null, Created.AddDays(3), new RateLimitResponse(200, 400, false));
    }
}
