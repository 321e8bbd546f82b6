using Microsoft.AspNetCore.Http.HttpResults;
using TextClassification.Api.Hosting;
using TextClassification.Api.Security;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// <c>/v1/hangfire-session</c>: lets a browser open the Hangfire dashboard, which it reaches by navigation and so
/// without a key header (see <see cref="HangfireDashboardAuthorization"/>). Admin only.
/// </summary>
internal static class DashboardSessionEndpoints
{
    public static IEndpointRouteBuilder MapDashboardSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/hangfire-session").WithTags("API keys").RequireScope(ApiScopes.AdminPolicy);

        group.MapPost("/", Start)
            .WithName("StartHangfireDashboardSession")
            .WithSummary("Open the Hangfire dashboard in this browser: a cookie for /hangfire only, for 30 minutes")
            .WithDescription("""
                Sets an HttpOnly, SameSite=Strict cookie scoped to `/hangfire` that carries the calling admin key, so that
                a browser can then open `/hangfire` as a page. Scripts cannot read it, other sites cannot send it, and the
                key is checked on every dashboard request, so revoking the key ends the session. `DELETE` ends it.
                """)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithResponseExample(StatusCodes.Status403Forbidden, NotAdmin);

        group.MapDelete("/", End)
            .WithName("EndHangfireDashboardSession")
            .WithSummary("Forget the Hangfire dashboard cookie in this browser")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WithResponseExample(StatusCodes.Status403Forbidden, NotAdmin);

        return app;
    }

    private static readonly Microsoft.AspNetCore.Mvc.ProblemDetails NotAdmin = new()
    {
        Status = StatusCodes.Status403Forbidden,
        Title = "The API key lacks the scope this endpoint needs.",
        Detail = "This endpoint needs a key with the admin scope; this key has train.",
    };

    private static NoContent Start(HttpContext context)
    {
        // The policy admitted the request, so it carried a valid admin key in a header.
        ApiKeyAuthenticationHandler.TryReadHeaderKey(context.Request, out string? secret);
        HangfireDashboardAuthorization.StartSession(context, secret!);
        return TypedResults.NoContent();
    }

    private static NoContent End(HttpContext context)
    {
        HangfireDashboardAuthorization.EndSession(context);
        return TypedResults.NoContent();
    }
}
