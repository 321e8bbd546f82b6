using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Security;

/// <summary>Per-key rate limits: set when a key is made or later, shown on the key, enforced per key, counted when they refuse.</summary>
public sealed class RateLimitTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task A_key_made_with_a_limit_of_its_own_shows_it_and_is_refused_beyond_it_with_retry_after_and_a_count_by_key()
    {
        var created = await (await service.Client.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new
        {
            name = "limited backend",
            scopes = new[] { "predict" },
            rate_limit = new { requests_per_second = 1, burst = 2 },
        }))).ReadJsonAsync(HttpStatusCode.Created);
        string id = (string)created["key"]!["id"]!;
        AssertLimit(created["key"]!, 1, 2, isDefault: false);
        using var client = SecurityApi.ClientWithKey(service.Factory, (string)created["secret"]!);

        // The caller can read its own key, limit included; the burst of 2 is spent by the second request (a token a
        // second comes back, so the refusal is looked for over a few more).
        AssertLimit(await (await client.GetAsync("/v1/api-keys/current")).ReadJsonAsync(HttpStatusCode.OK), 1, 2, isDefault: false);
        await (await client.GetAsync("/v1/api-keys/current")).ReadJsonAsync(HttpStatusCode.OK);
        var refused = await FirstRefusalAsync(() => client.PostAsync("/v1/models/nothing-here/predict", HttpAssertions.JsonBody(new { inputs = new[] { "hello" } })));
        var problem = await refused.ReadProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Contains("rate_limit", problem.AllText(), StringComparison.Ordinal);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.ToString());

        // Other keys keep their own buckets (the fixture's default: no limit).
        var listed = await (await service.Client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK);
        var admin = listed["data"]!.AsArray().Single(k => (string)k!["created_by"]! == "bootstrap")!;
        AssertLimit(admin, 0, 0, isDefault: true);

        string metrics = await service.Client.GetStringAsync("/metrics");
        Assert.Matches($"api_rate_limited_requests_total\\{{key_id=\"{id}\"\\}} [1-9]", metrics);
        Assert.Matches("inference_protocol_requests_total\\{protocol=\"v1\",outcome=\"rate_limited\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task Changing_a_keys_limit_applies_from_the_next_request_and_null_gives_it_the_default_again()
    {
        // An admin key of its own without a limit, so that only the key under test meets the tight default.
        var operatorKey = await (await service.Client.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new
        {
            name = "operator",
            scopes = new[] { "admin" },
            rate_limit = new { requests_per_second = 0 },
        }))).ReadJsonAsync(HttpStatusCode.Created);
        await using var limited = service.Restart(new Dictionary<string, string?>
        {
            ["Security:RateLimit:PermitsPerSecond"] = "1",
            ["Security:RateLimit:Burst"] = "1",
        });
        using var admin = SecurityApi.ClientWithKey(limited, (string)operatorKey["secret"]!);
        var (id, secret) = await SecurityApi.CreateKeyAsync(admin, "train");
        using var client = SecurityApi.ClientWithKey(limited, secret);

        AssertLimit(await (await client.GetAsync("/v1/api-keys/current")).ReadJsonAsync(HttpStatusCode.OK), 1, 1, isDefault: true);
        await (await FirstRefusalAsync(() => client.GetAsync("/v1/datasets"))).ReadProblemAsync(HttpStatusCode.TooManyRequests);

        // No limit for this key: twenty requests at once all pass.
        var unlimited = await (await admin.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { rate_limit = new { requests_per_second = 0 } })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(0, (int)unlimited["rate_limit"]!["requests_per_second"]!);
        Assert.False((bool)unlimited["rate_limit"]!["is_default"]!);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ => (await client.GetAsync("/v1/datasets")).StatusCode));
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));

        // Back to the configured default: the burst of one is gone after one request.
        var restored = await (await admin.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { rate_limit = (object?)null })))
            .ReadJsonAsync(HttpStatusCode.OK);
        AssertLimit(restored, 1, 1, isDefault: true);
        await (await FirstRefusalAsync(() => client.GetAsync("/v1/datasets"))).ReadProblemAsync(HttpStatusCode.TooManyRequests);

        var audit = await (await admin.GetAsync($"/v1/audit?action=api_key.update&resource_id={id}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(["default", "none"], audit["data"]!.AsArray().Select(e => (string)e!["details"]!["rate_limit"]!));
    }

    [Fact]
    public async Task A_limit_changed_through_one_api_process_is_enforced_by_another_within_the_key_cache_time()
    {
        var settings = new Dictionary<string, string?> { ["Security:KeyCacheMilliseconds"] = "300" };
        await using var first = service.Restart(settings);
        await using var second = service.Restart(settings);
        using var admin = SecurityApi.ClientWithKey(first, ServiceFactory.AdminKey);
        var (id, secret) = await SecurityApi.CreateKeyAsync(admin, "train");
        using var client = SecurityApi.ClientWithKey(second, secret);
        await (await client.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);

        await (await admin.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { rate_limit = new { requests_per_second = 1, burst = 1 } })))
            .ReadJsonAsync(HttpStatusCode.OK);
        await Task.Delay(600);
        await (await FirstRefusalAsync(() => client.GetAsync("/v1/datasets"))).ReadProblemAsync(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task Bad_rate_limits_are_refused_naming_the_field_and_change_nothing()
    {
        int before = (await (await service.Client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray().Count;
        var negative = await (await service.Client.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new
        {
            name = "x",
            scopes = new[] { "predict" },
            rate_limit = new { requests_per_second = -1 },
        }))).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(negative["errors"]!.AsArray(), e => (string)e!["field"]! == "rate_limit.requests_per_second");
        Assert.Equal(before, (await (await service.Client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray().Count);

        var (id, _) = await SecurityApi.CreateKeyAsync(service.Client, "predict");
        var notAnObject = await (await service.Client.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { rate_limit = "fast" })))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(notAnObject["errors"]!.AsArray(), e => (string)e!["field"]! == "rate_limit");
        var missing = await (await service.Client.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { }))).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(missing["errors"]!.AsArray(), e => (string)e!["field"]! == "rate_limit");
        var noBurst = await (await service.Client.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { rate_limit = new { requests_per_second = 5, burst = 0 } })))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(noBurst["errors"]!.AsArray(), e => (string)e!["field"]! == "rate_limit.burst");
        await (await service.Client.PatchAsync("/v1/api-keys/key_nothing", HttpAssertions.JsonBody(new { rate_limit = new { requests_per_second = 5 } })))
            .ReadProblemAsync(HttpStatusCode.NotFound);

        var key = (await (await service.Client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray().Single(k => (string)k!["id"]! == id)!;
        Assert.True((bool)key["rate_limit"]!["is_default"]!);

        // A rate without a burst gets twice the rate.
        var doubled = await (await service.Client.PatchAsync($"/v1/api-keys/{id}", HttpAssertions.JsonBody(new { rate_limit = new { requests_per_second = 40 } })))
            .ReadJsonAsync(HttpStatusCode.OK);
        AssertLimit(doubled, 40, 80, isDefault: false);
    }

    /// <summary>Sends until refused with 429 (a limit of one a second may hand a token back between two requests), at most ten times.</summary>
    private static async Task<HttpResponseMessage> FirstRefusalAsync(Func<Task<HttpResponseMessage>> send)
    {
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 10; i++)
        {
            var response = await send();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return response;
            }

            statuses.Add(response.StatusCode);
        }

        Assert.Fail($"Never refused: {string.Join(", ", statuses)}");
        return null!;
    }

    private static void AssertLimit(JsonNode key, int perSecond, int burst, bool isDefault)
    {
        var limit = key["rate_limit"]!;
        Assert.Equal(perSecond, (int)limit["requests_per_second"]!);
        Assert.Equal(isDefault, (bool)limit["is_default"]!);
        if (perSecond > 0 || !isDefault)
        {
            Assert.Equal(burst, (int)limit["burst"]!);
        }
    }
}
