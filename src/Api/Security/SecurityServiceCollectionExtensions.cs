using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using TextClassification.Inference;

namespace TextClassification.Api.Security;

/// <summary>Wiring of API keys, scopes, rate limits, body limits, CORS and the audit log.</summary>
internal static class SecurityServiceCollectionExtensions
{
    private const string CorsPolicy = "configured-origins";

    public static IServiceCollection AddApiSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>()
            .BindConfiguration(SecurityOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(ApiScopes.AddPolicies);
        services.AddSingleton<IAuthorizationHandler, ScopeRequirementHandler>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<SecurityOptions>, ServingMetrics>(
            (limiter, security, metrics) => RateLimiting.Configure(limiter, security.Value, metrics));
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<SecurityOptions>>((forwarded, security) =>
        {
            var trusted = security.Value.ForwardedHeaders;
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.ForwardLimit = null;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (string proxy in trusted.KnownProxies)
            {
                forwarded.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
            }

            foreach (string network in trusted.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>()
            .Configure<IOptions<SecurityOptions>>((cors, security) =>
            {
                string[] origins = security.Value.Cors.AllowedOrigins;
                if (origins.Length > 0)
                {
                    cors.AddPolicy(CorsPolicy, policy => policy
                        .WithOrigins(origins)
                        .AllowAnyMethod()
                        .WithHeaders("Authorization", ApiKeyAuthenticationHandler.HeaderName, "Content-Type", "Last-Event-ID")
                        .WithExposedHeaders("Retry-After", "Location"));
                }
            });

        services.AddHttpContextAccessor();
        services.AddScoped<AuditLog>();
        services.AddSingleton<ApiKeyCache>();
        services.AddHostedService<ApiKeyBootstrapService>();
        return services;
    }

    /// <summary>
    /// The client's address from trusted proxies' headers first, when proxies are configured. Then CORS (answers preflights), then who is calling, then their rate limit, then whether they may, then the body
    /// limit: a request without the right key is refused before anything about the endpoint is looked at.
    /// </summary>
    public static WebApplication UseApiSecurity(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value.Cors.AllowedOrigins.Length > 0)
        {
            app.UseCors(CorsPolicy);
        }

        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        return app;
    }
}
