using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Net.Http.Headers;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Security;

/// <summary>
/// A browser opens the Hangfire dashboard as a page, without a key header: an admin key exchanges itself for a
/// cookie that only the dashboard's paths receive, scripts cannot read and other sites cannot send.
/// </summary>
public sealed class HangfireDashboardSessionTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task An_admin_key_opens_a_dashboard_session_in_a_cookie_scoped_to_the_dashboard_and_hidden_from_scripts()
    {
        var started = await service.Client.PostAsync("/v1/hangfire-session", null);
        Assert.Equal(HttpStatusCode.NoContent, started.StatusCode);
        var cookie = SetCookieHeaderValue.Parse(Assert.Single(started.Headers.GetValues(HeaderNames.SetCookie)));
        Assert.Equal("tcs_hangfire_session", cookie.Name.ToString());
        Assert.True(cookie.HttpOnly);
        Assert.Equal(Microsoft.Net.Http.Headers.SameSiteMode.Strict, cookie.SameSite);
        Assert.Equal("/hangfire", cookie.Path.ToString());
        Assert.True(cookie.MaxAge <= TimeSpan.FromMinutes(30));

        // The page, with the cookie and no header, as a browser would ask for it.
        using var browser = Browser();
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendWithCookieAsync(browser, "/hangfire", cookie.Value.ToString())).StatusCode);

        // Only the dashboard takes the cookie: the API itself still wants the key in a header.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendWithCookieAsync(browser, "/v1/api-keys", cookie.Value.ToString())).StatusCode);

        var ended = await service.Client.DeleteAsync("/v1/hangfire-session");
        Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);
        var expired = SetCookieHeaderValue.Parse(Assert.Single(ended.Headers.GetValues(HeaderNames.SetCookie)));
        Assert.True(expired.Expires < DateTimeOffset.UtcNow || string.IsNullOrEmpty(expired.Value.ToString()));
    }

    [Fact]
    public async Task Only_admin_keys_may_open_a_session_and_a_revoked_key_ends_it()
    {
        var (_, trainer) = await SecurityApi.CreateKeyAsync(service.Client, "train");
        using var trainerClient = SecurityApi.ClientWithKey(service.Factory, trainer);
        await (await trainerClient.PostAsync("/v1/hangfire-session", null)).ReadProblemAsync(HttpStatusCode.Forbidden);

        // A trainer's key put in the cookie by hand is refused by the dashboard too.
        using var browser = Browser();
        Assert.Equal(HttpStatusCode.Forbidden, (await SendWithCookieAsync(browser, "/hangfire", trainer)).StatusCode);

        var (adminId, admin) = await SecurityApi.CreateKeyAsync(service.Client, "admin");
        using var adminClient = SecurityApi.ClientWithKey(service.Factory, admin);
        Assert.Equal(HttpStatusCode.NoContent, (await adminClient.PostAsync("/v1/hangfire-session", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendWithCookieAsync(browser, "/hangfire", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await service.Client.DeleteAsync($"/v1/api-keys/{adminId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendWithCookieAsync(browser, "/hangfire", admin)).StatusCode);
    }

    private HttpClient Browser()
    {
        var client = service.Factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        client.DefaultRequestHeaders.Authorization = null;
        return client;
    }

    private static Task<HttpResponseMessage> SendWithCookieAsync(HttpClient client, string path, string secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(HeaderNames.Cookie, $"tcs_hangfire_session={secret}");
        return client.SendAsync(request);
    }
}
