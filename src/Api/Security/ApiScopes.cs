using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Security;

/// <summary>
/// The scopes a key can hold and the policies endpoints ask for. Which endpoint needs what:
/// <list type="bullet">
/// <item><see cref="AdminPolicy"/>: <c>/v1/api-keys</c>, <c>/v1/audit</c>, <c>/metrics</c>, the Hangfire dashboard, and any
/// endpoint that names no policy (the fallback), so a new endpoint is closed until someone decides otherwise.</item>
/// <item><see cref="TrainPolicy"/> (train or admin): <c>/v1/datasets</c>, <c>/v1/fine-tuning/jobs</c>, <c>/v1/base-models</c>, and the model registry's
/// changes (delete a version, set or delete an alias): moving <c>production</c> is releasing a model, which is the
/// trainers' work, never a serving client's.</item>
/// <item><see cref="PredictPolicy"/> (predict or admin): the <c>/v1/models</c> reads.</item>
/// <item><see cref="AnyKeyPolicy"/> (any valid key): <c>GET /v1/api-keys/current</c>, so a client (the console) can learn what its key may do.</item>
/// <item><see cref="PredictionsPolicy"/> (predict or admin, or no key at all with <c>Security:AllowAnonymousPredictions</c>):
/// <c>/v1</c> predict and every <c>/v2</c> endpoint but its health checks.</item>
/// </list>
/// </summary>
internal static class ApiScopes
{
    public const string Admin = "admin";
    public const string Train = "train";
    public const string Predict = "predict";

    public const string AdminPolicy = "scope:admin";
    public const string TrainPolicy = "scope:train";
    public const string PredictPolicy = "scope:predict";
    public const string PredictionsPolicy = "scope:predict-or-anonymous";
    public const string AnyKeyPolicy = "scope:any";

    public static readonly IReadOnlyList<string> All = [Admin, Train, Predict];

    public static IEnumerable<string> Names(ApiKeyScopes scopes)
    {
        if (scopes.HasFlag(ApiKeyScopes.Admin))
        {
            yield return Admin;
        }

        if (scopes.HasFlag(ApiKeyScopes.Train))
        {
            yield return Train;
        }

        if (scopes.HasFlag(ApiKeyScopes.Predict))
        {
            yield return Predict;
        }
    }

    public static bool TryParse(string? name, out ApiKeyScopes scope)
    {
        scope = name switch
        {
            Admin => ApiKeyScopes.Admin,
            Train => ApiKeyScopes.Train,
            Predict => ApiKeyScopes.Predict,
            _ => ApiKeyScopes.None,
        };
        return scope != ApiKeyScopes.None;
    }

    public static void AddPolicies(AuthorizationOptions options)
    {
        options.AddPolicy(AdminPolicy, Policy(new ScopeRequirement(ApiKeyScopes.Admin, AllowsAnonymousPredictions: false)));
        options.AddPolicy(TrainPolicy, Policy(new ScopeRequirement(ApiKeyScopes.Train, AllowsAnonymousPredictions: false)));
        options.AddPolicy(PredictPolicy, Policy(new ScopeRequirement(ApiKeyScopes.Predict, AllowsAnonymousPredictions: false)));
        options.AddPolicy(PredictionsPolicy, Policy(new ScopeRequirement(ApiKeyScopes.Predict, AllowsAnonymousPredictions: true)));
        options.AddPolicy(AnyKeyPolicy, Policy(new ScopeRequirement(ApiKeyScopes.Predict | ApiKeyScopes.Train, AllowsAnonymousPredictions: false)));
        options.FallbackPolicy = options.GetPolicy(AdminPolicy);
    }

    /// <summary>
    /// Requires the endpoints of <paramref name="builder"/> to be called with a key holding <paramref name="policy"/>'s
    /// scope, counts them against the caller's rate limit, and says so in the OpenAPI document.
    /// </summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string policy)
        where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(policy)
            .RequireRateLimiting(RateLimiting.PolicyName)
            .WithMetadata(new RequiredScopeMetadata(policy));

    /// <remarks>
    /// The policies name no authentication scheme: API keys are the default scheme, which the authentication
    /// middleware has already run. Naming it would make authorization authenticate again and copy the principal on
    /// every request.
    /// </remarks>
    private static AuthorizationPolicy Policy(ScopeRequirement requirement) =>
        new AuthorizationPolicyBuilder().AddRequirements(requirement).Build();
}

/// <summary>Which scope an endpoint needs, for error messages and the OpenAPI document.</summary>
internal sealed record RequiredScopeMetadata(string Policy)
{
    public string Description => Policy switch
    {
        ApiScopes.AdminPolicy => "the admin scope",
        ApiScopes.TrainPolicy => "the train or admin scope",
        ApiScopes.AnyKeyPolicy => "any valid key",
        _ => "the predict or admin scope",
    };
}

/// <summary>A key with <paramref name="Scope"/> or admin; with <paramref name="AllowsAnonymousPredictions"/>, also no key at all when predictions are open.</summary>
internal sealed record ScopeRequirement(ApiKeyScopes Scope, bool AllowsAnonymousPredictions) : IAuthorizationRequirement;

internal sealed class ScopeRequirementHandler(IOptions<SecurityOptions> options) : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        // The authorization middleware passes the request as the resource; the handler put the key on its features.
        var http = context.Resource as HttpContext;
        if (http?.Features.Get<AuthenticatedApiKey>() is { } key)
        {
            if (key.Allows(requirement.Scope))
            {
                context.Succeed(requirement);
            }
        }
        else if (requirement.AllowsAnonymousPredictions
            && options.Value.AllowAnonymousPredictions
            && http is not null
            && !ApiKeyAuthenticationHandler.HasCredentials(http.Request))
        {
            // Open predictions admit callers without a key; a key that is presented must still be valid.
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
