using System.Net;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Security;

/// <summary>The Security settings: bootstrap keys, anonymous predictions, rate and body limits, CORS.</summary>
public sealed class SecuritySettingsTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task The_first_start_without_a_key_prints_an_admin_key_once_that_works_and_stores_only_its_hash()
    {
        using var data = new TempDirectory();
        string secret;
        await using (var first = await ServiceProcess.StartAsync(data.Path, new Dictionary<string, string?> { ["Security:BootstrapAdminKey"] = string.Empty }))
        {
            secret = await WaitForPrintedKeyAsync(first);
            using var client = first.CreateClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
            var keys = await (await client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK);
            var only = Assert.Single(keys["data"]!.AsArray());
            Assert.Equal(["admin"], only!["scopes"]!.AsArray().Select(s => (string)s!));
            Assert.Equal("bootstrap", (string)only["created_by"]!);

            // The test suite's usual key was not registered: the database got the printed one instead.
            using var suite = first.CreateClient();
            Assert.Equal(HttpStatusCode.Unauthorized, (await suite.GetAsync("/v1/api-keys")).StatusCode);
        }

        // Nothing the service wrote to disk holds the secret (the database, its journal, the artifacts).
        foreach (string file in Directory.GetFiles(data.Path, "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(secret, await File.ReadAllTextAsync(file, System.Text.Encoding.Latin1), StringComparison.Ordinal);
        }

        await using var second = await ServiceProcess.StartAsync(data.Path, new Dictionary<string, string?> { ["Security:BootstrapAdminKey"] = string.Empty });
        await Task.Delay(500);
        Assert.DoesNotContain(second.StandardOutput, line => line.Contains("tcs_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_configured_bootstrap_key_seeds_an_empty_database_and_is_ignored_once_keys_exist()
    {
        // The fixture's service was bootstrapped with ServiceFactory.AdminKey; the admin list shows it as the bootstrap key.
        var keys = await (await service.Client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Contains(keys["data"]!.AsArray(), k => (string)k!["created_by"]! == "bootstrap" && ServiceFactory.AdminKey.StartsWith((string)k["prefix"]!, StringComparison.Ordinal));

        string other = "tcs_another-operator-key-0123456789abcdefgh";
        await using var restarted = service.Restart(new Dictionary<string, string?> { ["Security:BootstrapAdminKey"] = other });
        using var client = SecurityApi.ClientWithKey(restarted, other);
        await (await client.GetAsync("/v1/api-keys")).ReadProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_short_bootstrap_key_stops_the_service_from_starting()
    {
        await using var weak = service.Restart(new Dictionary<string, string?> { ["Security:BootstrapAdminKey"] = "admin" });
        var error = Assert.ThrowsAny<Exception>(() => weak.CreateClient());
        Assert.Contains("BootstrapAdminKey", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_predictions_are_off_by_default_and_open_only_the_prediction_endpoints_when_allowed()
    {
        using var closed = SecurityApi.ClientWithKey(service.Factory, null);
        await (await closed.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { "x" } }))).ReadProblemAsync(HttpStatusCode.Unauthorized);
        await (await closed.GetAsync("/v2/models/nope")).ReadOipErrorAsync(HttpStatusCode.Unauthorized);

        await using var open = service.Restart(new Dictionary<string, string?> { ["Security:AllowAnonymousPredictions"] = "true" });
        using var anonymous = SecurityApi.ClientWithKey(open, null);
        // Past authorization: the model does not exist.
        await (await anonymous.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { "x" } }))).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await anonymous.PostAsync("/v2/models/nope/infer", HttpAssertions.JsonBody(new { }))).ReadOipErrorAsync(HttpStatusCode.BadRequest);
        await (await anonymous.GetAsync("/v2/models/nope/ready")).ReadOipErrorAsync(HttpStatusCode.NotFound);
        await (await anonymous.GetAsync("/v2/models/nope")).ReadOipErrorAsync(HttpStatusCode.NotFound);

        // Everything else still needs a key, and a key that is presented must be valid.
        await (await anonymous.GetAsync("/v1/models")).ReadProblemAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.GetAsync("/v1/datasets")).ReadProblemAsync(HttpStatusCode.Unauthorized);
        using var wrong = SecurityApi.ClientWithKey(open, "tcs_" + new string('B', 43));
        await (await wrong.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { "x" } }))).ReadProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_key_over_its_rate_limit_gets_429_with_retry_after_and_other_keys_are_unaffected()
    {
        await using var limited = service.Restart(new Dictionary<string, string?>
        {
            ["Security:RateLimit:PermitsPerSecond"] = "1",
            ["Security:RateLimit:Burst"] = "3",
        });
        using var admin = limited.CreateClient();
        var (_, secret) = await SecurityApi.CreateKeyAsync(admin, "train");
        using var client = SecurityApi.ClientWithKey(limited, secret);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (int i = 0; i < 6 && refused is null; i++)
        {
            var response = await client.GetAsync("/v1/datasets");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
        }

        Assert.True(refused is not null, string.Join(", ", statuses));
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) >= 3, string.Join(", ", statuses));
        await refused.ReadProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.ToString());

        // Partitioned by key: another key still has its whole burst.
        var (_, other) = await SecurityApi.CreateKeyAsync(admin, "train");
        using var second = SecurityApi.ClientWithKey(limited, other);
        await (await second.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);

        // Health checks are never limited.
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        }
    }

    [Fact]
    public async Task Bodies_over_an_endpoints_limit_get_413_before_they_are_read()
    {
        await using var limited = service.Restart(new Dictionary<string, string?>
        {
            ["Security:MaxJsonBodyBytes"] = "2048",
            ["Inference:MaxInputsPerRequest"] = "2",
            ["Inference:MaxTextLength"] = "100",
        });
        using var client = limited.CreateClient();
        string big = new('a', 4096);

        var job = await (await client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new { model = big }))).ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("2048", job.AllText(), StringComparison.Ordinal);

        // Predict's limit follows MaxInputsPerRequest × MaxTextLength: a 4 KiB body fits, 100 KiB does not.
        await (await client.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { big } }))).ReadProblemAsync(HttpStatusCode.BadRequest);
        string huge = new('a', 100 * 1024);
        await (await client.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { huge } }))).ReadProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        await (await client.PostAsync("/v2/models/nope/infer", HttpAssertions.JsonBody(new { inputs = new[] { huge } }))).ReadOipErrorAsync(HttpStatusCode.RequestEntityTooLarge);

        // Dataset uploads keep Datasets:MaxUploadBytes (200 MB by default): 4 KiB is far under it.
        string csv = "text,label\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"hello number {i},greeting\nbalance number {i},balance\n"));
        await (await client.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(csv, "big.csv"))).ReadJsonAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Cors_is_off_unless_origins_are_listed_and_then_answers_only_those()
    {
        Assert.Null(await PreflightAsync(service.Factory, "https://support.example.com"));

        await using var cors = service.Restart(new Dictionary<string, string?> { ["Security:Cors:AllowedOrigins:0"] = "https://support.example.com" });
        Assert.Equal("https://support.example.com", await PreflightAsync(cors, "https://support.example.com"));
        Assert.Null(await PreflightAsync(cors, "https://evil.example.net"));
    }

    private static async Task<string?> PreflightAsync(ServiceFactory factory, string origin)
    {
        using var client = SecurityApi.ClientWithKey(factory, null);
        using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/models/any/predict");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        var response = await client.SendAsync(request);
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }

    private static async Task<string> WaitForPrintedKeyAsync(ServiceProcess process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            string? line = process.StandardOutput.FirstOrDefault(l => l.TrimStart().StartsWith("tcs_", StringComparison.Ordinal));
            if (line is not null)
            {
                return line.Trim();
            }

            await Task.Delay(50);
        }

        Assert.Fail("No key was printed: " + string.Join("\n", process.StandardOutput));
        return string.Empty;
    }
}
