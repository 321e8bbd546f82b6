using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Security;

/// <summary>Makes keys through the API and clients that carry them, the way an operator would.</summary>
internal static class SecurityApi
{
    public static async Task<(string Id, string Secret)> CreateKeyAsync(HttpClient admin, params string[] scopes)
    {
        var created = await (await admin.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new { name = $"test {string.Join('+', scopes)}", scopes })))
            .ReadJsonAsync(HttpStatusCode.Created);
        return ((string)created["key"]!["id"]!, (string)created["secret"]!);
    }

    /// <summary>A client of <paramref name="factory"/> that sends <paramref name="secret"/> (or no key at all when null).</summary>
    public static HttpClient ClientWithKey(ServiceFactory factory, string? secret, bool asHeader = false)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = null;
        if (secret is not null)
        {
            if (asHeader)
            {
                client.DefaultRequestHeaders.Add("X-Api-Key", secret);
            }
            else
            {
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            }
        }

        return client;
    }

    public static async Task<JsonNode> ReadOipErrorAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.ReadJsonAsync(status);
        Assert.False(string.IsNullOrWhiteSpace((string?)body["error"]), body.ToJsonString());
        return body;
    }
}
