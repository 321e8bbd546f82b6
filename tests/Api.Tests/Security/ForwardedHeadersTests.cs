using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Security;

/// <summary>
/// Behind a reverse proxy the service sees the proxy's address. <c>X-Forwarded-For</c> is believed from the
/// configured proxies only: from them, the audit log and the per-address limit see the client; from anyone else,
/// the header is ignored (a client could claim any address).
/// </summary>
public sealed class ForwardedHeadersTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private const string Proxy = "10.0.0.5";
    private const string Client = "203.0.113.7";

    [Fact]
    public async Task From_a_configured_proxy_the_audit_log_records_the_forwarded_client_address()
    {
        await using var behindProxy = FromAddress(service.Restart(new Dictionary<string, string?> { ["Security:ForwardedHeaders:KnownProxies:0"] = Proxy }), Proxy);

        Assert.Equal(Client, await AuditedAddressAsync(behindProxy));
    }

    [Fact]
    public async Task From_an_address_that_is_not_a_configured_proxy_the_header_is_ignored()
    {
        await using var notTrusted = FromAddress(service.Restart(new Dictionary<string, string?> { ["Security:ForwardedHeaders:KnownNetworks:0"] = "10.9.0.0/16" }), Proxy);
        await using var unconfigured = FromAddress(service.Restart(), Proxy);

        Assert.Equal(Proxy, await AuditedAddressAsync(notTrusted));
        Assert.Equal(Proxy, await AuditedAddressAsync(unconfigured));
    }

    [Fact]
    public async Task Callers_without_a_key_are_limited_per_forwarded_address()
    {
        await using var behindProxy = FromAddress(service.Restart(new Dictionary<string, string?>
        {
            ["Security:ForwardedHeaders:KnownNetworks:0"] = "10.0.0.0/24",
            ["Security:RateLimit:AnonymousPermitsPerSecond"] = "1",
            ["Security:RateLimit:AnonymousBurst"] = "1",
        }), Proxy);
        using var anonymous = behindProxy.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;

        var first = new List<HttpStatusCode>();
        for (int i = 0; i < 4; i++)
        {
            first.Add((await SendAsync(anonymous, "198.51.100.1")).StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, first);

        // Another client behind the same proxy has a bucket of its own.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(anonymous, "198.51.100.2")).StatusCode);
    }

    [Fact]
    public void A_proxy_that_is_not_an_address_stops_the_service_from_starting()
    {
        using var wrong = service.Restart(new Dictionary<string, string?> { ["Security:ForwardedHeaders:KnownProxies:0"] = "proxy.internal" });
        var error = Assert.ThrowsAny<Exception>(() => wrong.CreateClient());
        Assert.Contains("KnownProxies", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The service as reached from <paramref name="address"/>: the test server has no socket, so the connection's address is set first.</summary>
    private static WebApplicationFactory<Program> FromAddress(ServiceFactory factory, string address) =>
        factory.WithWebHostBuilder(builder => builder.ConfigureServices(services =>
            services.AddSingleton<IStartupFilter>(new ConnectionFrom(IPAddress.Parse(address)))));

    private static async Task<string?> AuditedAddressAsync(WebApplicationFactory<Program> factory)
    {
        using var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceFactory.AdminKey);
        admin.DefaultRequestHeaders.Add("X-Forwarded-For", Client);
        var created = await (await admin.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new { name = "forwarded", scopes = new[] { "predict" } })))
            .ReadJsonAsync(HttpStatusCode.Created);
        string id = (string)created["key"]!["id"]!;
        var audit = await (await admin.GetAsync($"/v1/audit?action=api_key.create&resource_id={id}")).ReadJsonAsync(HttpStatusCode.OK);
        return (string?)audit["data"]!.AsArray().Single()!["remote_ip"];
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string forwardedFor)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/datasets");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return client.SendAsync(request);
    }

    private sealed class ConnectionFrom(IPAddress address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
