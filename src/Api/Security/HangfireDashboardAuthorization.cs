using Hangfire.Dashboard;

namespace TextClassification.Api.Security;

/// <summary>The Hangfire dashboard shows and controls every job: admin keys only (the request was authenticated by the API key scheme).</summary>
internal sealed class HangfireDashboardAuthorization : IDashboardAuthorizationFilter
{
    public bool Authorize(DashboardContext context) =>
        context.GetHttpContext().User.HasClaim(ApiKeyAuthenticationHandler.ScopeClaim, ApiScopes.Admin);
}
