using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Endpoints;

/// <summary><c>/v1/api-keys</c>: make, list and revoke API keys (admin only). A key's secret is returned once, when it is made.</summary>
internal static class ApiKeysEndpoints
{
    private const int MaxNameLength = 128;

    public static IEndpointRouteBuilder MapApiKeysEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/api-keys").WithTags("API keys").RequireScope(ApiScopes.AdminPolicy);

        group.MapPost("/", CreateKey)
            .WithName("CreateApiKey")
            .WithSummary("Make an API key; its secret is in this response only")
            .WithDescription("""
                `name` (1–128 characters), `scopes` (one or more of `admin`: everything; `train`: datasets, fine-tuning
                jobs and registry changes; `predict`: predictions and model metadata) and optionally `expires_at` (in the
                future). The response holds `secret` once; the service keeps only its SHA-256 and cannot show it again.
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithRequestExample(new CreateApiKeyRequest("support-bot production", [ApiScopes.Predict], Examples.Key.ExpiresAt))
            .WithResponseExample(StatusCodes.Status201Created, new CreatedApiKeyResponse("tcs_q3Vw8ZkP0Yb4cN1mT7rLx2sHf9gJd6eA5uKo0iWzEyQ", Examples.Key));

        group.MapGet("/", ListKeys)
            .WithName("ListApiKeys")
            .WithSummary("List API keys, newest first, revoked ones included; never their secrets")
            .WithResponseExample(StatusCodes.Status200OK, new DataResponse<ApiKeyResponse>([Examples.Key]));

        group.MapDelete("/{id}", RevokeKey)
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key: refused from the next request on")
            .WithDescription("Revoking a revoked key changes nothing. The key stays listed, with `revoked_at`.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The key id.", Examples.Key.Id);

        return app;
    }

    private static async Task<Created<CreatedApiKeyResponse>> CreateKey(
        CreateApiKeyRequest? request, ServiceDbContext db, AuditLog audit, HttpContext context, TimeProvider clock, CancellationToken cancellationToken)
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
        };
        db.ApiKeys.Add(key);
        var details = new Dictionary<string, string> { ["name"] = key.Name, ["scopes"] = string.Join(' ', ApiScopes.Names(scopes)) };
        if (key.ExpiresAt is { } at)
        {
            details["expires_at"] = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }

        audit.Add(AuditLog.Actions.ApiKeyCreate, AuditLog.Resources.ApiKey, key.Id, details);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/v1/api-keys/{key.Id}", new CreatedApiKeyResponse(secret, ApiKeyResponse.From(key)));
    }

    private static async Task<Ok<DataResponse<ApiKeyResponse>>> ListKeys(ServiceDbContext db, CancellationToken cancellationToken)
    {
        var keys = await db.ApiKeys.AsNoTracking().OrderByDescending(k => k.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(new DataResponse<ApiKeyResponse>(keys.Select(ApiKeyResponse.From).ToList()));
    }

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
            "key_01kaq3k0a1b2c3d4e5f6g7h8j9", Created, Created.AddYears(1), null, Created.AddDays(3));
    }
}
