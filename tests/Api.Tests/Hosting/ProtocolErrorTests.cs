using System.Net;
using System.Text;
using TextClassification.Api.Tests.Security;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>
/// Every error leaves in the shape of the protocol the request speaks, routed or not: RFC 9457 problem details under
/// <c>/v1</c> (and everywhere else), <c>{"error": "..."}</c> under the Open Inference Protocol's <c>/v2</c>.
/// </summary>
public sealed class ProtocolErrorTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Theory]
    [InlineData("GET", "/v2/nothing")]
    [InlineData("GET", "/v2/models/intents/versions/1/infer/extra")]
    [InlineData("POST", "/v2/model/intents/infer")]
    public async Task Unknown_paths_under_v2_are_404_in_the_protocols_error_shape(string method, string path)
    {
        var body = await (await SendAsync(service.Client, method, path)).ReadOipErrorAsync(HttpStatusCode.NotFound);
        Assert.Contains(path, (string)body["error"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/v2/models/intents/infer", "POST")]
    [InlineData("DELETE", "/v2/models/intents", "GET")]
    [InlineData("POST", "/v2/health/live", "GET")]
    public async Task Wrong_methods_under_v2_are_405_in_the_protocols_error_shape_with_allow(string method, string path, string allowed)
    {
        var response = await SendAsync(service.Client, method, path);
        var body = await response.ReadOipErrorAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Contains(allowed, response.Content.Headers.Allow);
        Assert.Contains(method, (string)body["error"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/v1/nothing", HttpStatusCode.NotFound)]
    [InlineData("GET", "/nothing/at/all", HttpStatusCode.NotFound)]
    [InlineData("GET", "/v1/models/intents/predict", HttpStatusCode.MethodNotAllowed)]
    [InlineData("PUT", "/v1/datasets", HttpStatusCode.MethodNotAllowed)]
    public async Task Unknown_paths_and_wrong_methods_elsewhere_are_problem_details(string method, string path, HttpStatusCode status)
    {
        var problem = await (await SendAsync(service.Client, method, path)).ReadProblemAsync(status);
        Assert.Contains(path, problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_before_an_endpoint_runs_and_failures_inside_it_are_counted_by_the_status_the_caller_got()
    {
        using var anonymous = SecurityApi.ClientWithKey(service.Factory, null);
        await (await anonymous.PostAsync("/v2/models/intents/infer", HttpAssertions.JsonBody(new { }))).ReadOipErrorAsync(HttpStatusCode.Unauthorized);
        await (await service.Client.PostAsync("/v2/models/intents/infer", new StringContent("{", Encoding.UTF8, "application/json")))
            .ReadOipErrorAsync(HttpStatusCode.BadRequest);
        await (await service.Client.PostAsync("/v1/models/no-such-model/predict", HttpAssertions.JsonBody(new { inputs = new[] { "hi" } })))
            .ReadProblemAsync(HttpStatusCode.NotFound);

        string metrics = await service.Client.GetStringAsync("/metrics");
        Assert.Matches("inference_protocol_requests_total\\{protocol=\"v2\",outcome=\"unauthorized\"\\} [1-9]", metrics);
        Assert.Matches("inference_protocol_requests_total\\{protocol=\"v2\",outcome=\"invalid_input\"\\} [1-9]", metrics);
        Assert.Matches("inference_protocol_requests_total\\{protocol=\"v1\",outcome=\"model_not_found\"\\} [1-9]", metrics);
        Assert.DoesNotContain("no-such-model", metrics, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = HttpAssertions.JsonBody(new { });
        }

        return await client.SendAsync(request);
    }
}
