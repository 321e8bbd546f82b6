using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Security;

/// <summary>
/// Walks every operation in the OpenAPI document: each refuses a request without a key (401) and one with a key of
/// the wrong scope (403) before doing anything else, and admits the right scope. The scope each route needs is
/// stated here independently of the service, so a route that loses its policy fails this test.
/// </summary>
public sealed partial class RouteProtectionTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task Every_documented_route_refuses_no_key_and_the_wrong_scope_and_admits_the_right_one()
    {
        using var anonymous = SecurityApi.ClientWithKey(service.Factory, null);
        var document = await (await anonymous.GetAsync("/swagger/v1/swagger.json")).ReadJsonAsync(HttpStatusCode.OK);
        var (_, train) = await SecurityApi.CreateKeyAsync(service.Client, "train");
        var (_, predict) = await SecurityApi.CreateKeyAsync(service.Client, "predict");
        var (_, trainAndPredict) = await SecurityApi.CreateKeyAsync(service.Client, "train", "predict");
        var keys = new Dictionary<string, string> { ["train"] = train, ["predict"] = predict, ["admin"] = ServiceFactory.AdminKey, ["any"] = predict };
        var wrong = new Dictionary<string, string> { ["train"] = predict, ["predict"] = train, ["admin"] = trainAndPredict };

        int walked = 0;
        foreach (var (template, item) in document["paths"]!.AsObject())
        {
            if (template.StartsWith("/health/", StringComparison.Ordinal) || template.StartsWith("/v2/health/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (method, operation) in item!.AsObject())
            {
                string name = $"{method.ToUpperInvariant()} {template}";
                Assert.True(operation!["security"]?.AsArray().Count > 0, $"{name} declares no security requirement");
                string path = Parameter().Replace(template, m => m.Groups[1].Value switch
                {
                    "name" => "walk-model",
                    "version" => "1",
                    "alias" => "production",
                    _ => "ds_00000000000000000000000000",
                });
                string scope = Needed(method, template);

                var none = await SendAsync(anonymous, method, path);
                Assert.True(none.StatusCode == HttpStatusCode.Unauthorized, $"{name} without a key: {(int)none.StatusCode}");
                Assert.NotEmpty(none.Headers.WwwAuthenticate);
                await AssertShapeAsync(none, path);

                // A route open to any valid key has no wrong scope: a train-only key is admitted like the predict-only one.
                using var wrongClient = SecurityApi.ClientWithKey(service.Factory, scope == "any" ? train : wrong[scope]);
                var refused = await SendAsync(wrongClient, method, path);
                if (scope == "any")
                {
                    Assert.True(refused.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{name} with a train-only key: {(int)refused.StatusCode}");
                }
                else
                {
                    Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{name} with a key lacking {scope}: {(int)refused.StatusCode}");
                    await AssertShapeAsync(refused, path);
                }

                using var rightClient = SecurityApi.ClientWithKey(service.Factory, keys[scope]);
                var admitted = await SendAsync(rightClient, method, path);
                Assert.True(admitted.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{name} with {scope}: {(int)admitted.StatusCode}");
                walked++;
            }
        }

        Assert.True(walked >= 30, $"Only {walked} operations were walked.");
    }

    [Fact]
    public async Task Health_checks_and_the_documentation_need_no_key()
    {
        using var anonymous = SecurityApi.ClientWithKey(service.Factory, null);
        foreach (string path in (string[])["/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready", "/swagger/v1/swagger.json", "/swagger/index.html"])
        {
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(path)).StatusCode);
        }

        var document = await (await anonymous.GetAsync("/swagger/v1/swagger.json")).ReadJsonAsync(HttpStatusCode.OK);
        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("bearer", (string)schemes["bearer"]!["scheme"]!);
        Assert.Equal("X-Api-Key", (string)schemes["api_key"]!["name"]!);
        Assert.Equal("header", (string)schemes["api_key"]!["in"]!);
    }

    /// <summary>The scope each route needs, as the README states it.</summary>
    private static string Needed(string method, string template) => template switch
    {
        "/v1/api-keys/current" => "any",
        _ when template.StartsWith("/v1/api-keys", StringComparison.Ordinal) || template.StartsWith("/v1/audit", StringComparison.Ordinal) || template == "/metrics" => "admin",
        _ when template.StartsWith("/v1/datasets", StringComparison.Ordinal) || template.StartsWith("/v1/fine-tuning", StringComparison.Ordinal)
            || template.StartsWith("/v1/base-models", StringComparison.Ordinal) => "train",
        _ when template.StartsWith("/v1/models", StringComparison.Ordinal) =>
            template.EndsWith("/predict", StringComparison.Ordinal) || method == "get" ? "predict" : "train",
        _ when template.StartsWith("/v2", StringComparison.Ordinal) => "predict",
        _ => "admin",
    };

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path);
        if (method is "post" or "put")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request);
    }

    private static async Task AssertShapeAsync(HttpResponseMessage response, string path)
    {
        if (path.StartsWith("/v2", StringComparison.Ordinal))
        {
            await response.ReadOipErrorAsync(response.StatusCode);
        }
        else
        {
            await response.ReadProblemAsync(response.StatusCode);
        }
    }

    [GeneratedRegex(@"\{([a-z_]+)(:[a-z]+)?\}")]
    private static partial Regex Parameter();
}
