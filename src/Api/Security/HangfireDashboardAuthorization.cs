using Hangfire.Dashboard;

namespace TextClassification.Api.Security;

/// <summary>
/// The Hangfire dashboard shows and controls every job: admin keys only. Scripts send the key in a header like any
/// other call; a browser that opens the dashboard as a page cannot, so <c>POST /v1/hangfire-session</c> (admin) puts
/// the key in a cookie that only the dashboard's own paths receive and no script can read: HttpOnly, SameSite=Strict
/// (never sent by another site's page, so the dashboard's buttons cannot be triggered from elsewhere), Path=/hangfire,
/// Secure over HTTPS, and gone after <see cref="SessionLifetime"/> or when the browser closes. The key is checked on
/// every dashboard request as any key is, so revoking it ends the session.
/// </summary>
internal sealed class HangfireDashboardAuthorization : IDashboardAuthorizationFilter
{
    public const string DashboardPath = "/hangfire";
    public const string SessionCookie = "tcs_hangfire_session";
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(30);

    public bool Authorize(DashboardContext context) =>
        context.GetHttpContext().Features.Get<AuthenticatedApiKey>()?.Allows(Persistence.Entities.ApiKeyScopes.Admin) == true;

    /// <summary>The key in the dashboard's session cookie, read only for the dashboard's own paths.</summary>
    public static bool TryReadSessionCookie(HttpRequest request, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? secret)
    {
        secret = null;
        return request.Path.StartsWithSegments(DashboardPath)
            && request.Cookies.TryGetValue(SessionCookie, out secret)
            && !string.IsNullOrEmpty(secret);
    }

    /// <summary>Sets the session cookie holding <paramref name="secret"/> on the response.</summary>
    public static void StartSession(HttpContext context, string secret) =>
        context.Response.Cookies.Append(SessionCookie, secret, CookieOptions(context, SessionLifetime));

    /// <summary>Expires the session cookie.</summary>
    public static void EndSession(HttpContext context) =>
        context.Response.Cookies.Delete(SessionCookie, CookieOptions(context, null));

    private static CookieOptions CookieOptions(HttpContext context, TimeSpan? lifetime) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = DashboardPath,
        MaxAge = lifetime,
        IsEssential = true,
    };
}
