using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

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
        services.AddRateLimiter(RateLimiting.Configure);
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
    /// CORS (answers preflights), then who is calling, then their rate limit, then whether they may, then the body
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
