using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Tests.Security;

/// <summary>API keys from creation to revocation, scopes, and what the database keeps of them.</summary>
public abstract class ApiKeyTests<TFixture>(TFixture service) : IClassFixture<TFixture>
    where TFixture : ServiceFixture
{
    [Fact]
    public async Task A_created_key_works_at_once_is_never_shown_again_and_is_refused_on_the_next_request_after_revocation()
    {
        var (id, secret) = await SecurityApi.CreateKeyAsync(service.Client, "train");
        Assert.StartsWith("tcs_", secret, StringComparison.Ordinal);
        Assert.True(Convert.FromBase64String(Base64(secret["tcs_".Length..])).Length >= 16);

        using (var bearer = SecurityApi.ClientWithKey(service.Factory, secret))
        {
            await (await bearer.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);
        }

        using var header = SecurityApi.ClientWithKey(service.Factory, secret, asHeader: true);
        await (await header.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);

        string list = await (await service.Client.GetAsync("/v1/api-keys")).Content.ReadAsStringAsync();
        Assert.Contains(id, list, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[..20], list, StringComparison.Ordinal);
        var listed = (await (await service.Client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray().Single(k => (string)k!["id"]! == id)!;
        Assert.Equal(["train"], listed["scopes"]!.AsArray().Select(s => (string)s!));
        Assert.StartsWith((string)listed["prefix"]!, secret, StringComparison.Ordinal);
        Assert.NotNull(listed["last_used_at"]);
        Assert.Null(listed["revoked_at"]);
        Assert.Null(listed["secret"]);
        Assert.Null(listed["secret_hash"]);

        Assert.Equal(HttpStatusCode.NoContent, (await service.Client.DeleteAsync($"/v1/api-keys/{id}")).StatusCode);

        var refused = await header.GetAsync("/v1/datasets");
        var problem = await refused.ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("revoked", problem.AllText(), StringComparison.Ordinal);
        Assert.StartsWith("Bearer", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_revoked_by_another_process_is_refused_once_the_key_cache_lifetime_has_passed()
    {
        var (id, secret) = await SecurityApi.CreateKeyAsync(service.Client, "train");
        using var client = SecurityApi.ClientWithKey(service.Factory, secret);
        await (await client.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);

        // Another API process revokes it: this process learns of it only from the database.
        await using (var scope = service.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            await db.ApiKeys.Where(k => k.Id == id).ExecuteUpdateAsync(set => set.SetProperty(k => k.RevokedAt, DateTimeOffset.UtcNow));
        }

        // Security:KeyCacheMilliseconds is 1 s: after it the next request looks the key up again and is refused.
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        var problem = await (await client.GetAsync("/v1/datasets")).ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("revoked", problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_database_keeps_only_the_sha256_of_a_secret()
    {
        var (id, secret) = await SecurityApi.CreateKeyAsync(service.Client, "predict");

        await using var scope = service.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var row = await db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == id);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(secret)), row.SecretHash);
        Assert.True(row.Prefix.Length <= 12 && secret.StartsWith(row.Prefix, StringComparison.Ordinal));
        Assert.DoesNotContain(secret, $"{row.Id} {row.Name} {row.Prefix} {row.CreatedBy}", StringComparison.Ordinal);

        // Nowhere else either: no audit entry holds the secret.
        var details = await db.AuditEntries.AsNoTracking().Select(e => e.Details).ToListAsync();
        Assert.DoesNotContain(details.SelectMany(d => d.Values), v => v.Contains(secret[4..16], StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_expired_key_is_refused_with_401()
    {
        string secret = "tcs_expired-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await using (var scope = service.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            db.ApiKeys.Add(new ApiKey
            {
                Id = ResourceId.New(ApiKey.IdPrefix),
                Name = "expired",
                Prefix = secret[..12],
                SecretHash = SHA256.HashData(Encoding.UTF8.GetBytes(secret)),
                Scopes = ApiKeyScopes.Admin,
                CreatedBy = "test",
                CreatedAt = DateTimeOffset.UtcNow.AddDays(-2),
                ExpiresAt = DateTimeOffset.UtcNow.AddSeconds(-1),
            });
            await db.SaveChangesAsync();
        }

        using var client = SecurityApi.ClientWithKey(service.Factory, secret);
        var problem = await (await client.GetAsync("/v1/api-keys")).ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("expired", problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_without_a_key_or_with_an_unknown_or_malformed_one_get_401()
    {
        using var none = SecurityApi.ClientWithKey(service.Factory, null);
        var response = await none.GetAsync("/v1/datasets");
        await response.ReadProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("realm", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var unknown = SecurityApi.ClientWithKey(service.Factory, "tcs_" + new string('A', 43));
        await (await unknown.GetAsync("/v1/datasets")).ReadProblemAsync(HttpStatusCode.Unauthorized);

        using var basic = SecurityApi.ClientWithKey(service.Factory, null);
        basic.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "YWRtaW46YWRtaW4=");
        await (await basic.GetAsync("/v1/datasets")).ReadProblemAsync(HttpStatusCode.Unauthorized);

        // Under /v2 the refusal is the protocol's {"error": ...}.
        await (await none.PostAsync("/v2/models/any/infer", HttpAssertions.JsonBody(new { }))).ReadOipErrorAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Each_scope_reaches_its_own_endpoints_only()
    {
        var (_, train) = await SecurityApi.CreateKeyAsync(service.Client, "train");
        var (_, predict) = await SecurityApi.CreateKeyAsync(service.Client, "predict");
        using var trainer = SecurityApi.ClientWithKey(service.Factory, train);
        using var predictor = SecurityApi.ClientWithKey(service.Factory, predict);
        string csv = "text,label\nhello there,greeting\nmy balance please,balance\n";

        await (await trainer.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(csv, "a.csv"))).ReadJsonAsync(HttpStatusCode.Created);
        await (await predictor.PostAsync("/v1/datasets", HttpAssertions.DatasetForm(csv, "a.csv"))).ReadProblemAsync(HttpStatusCode.Forbidden);

        await (await predictor.GetAsync("/v1/models")).ReadJsonAsync(HttpStatusCode.OK);
        await (await predictor.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { "x" } }))).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await trainer.PostAsync("/v1/models/nope/predict", HttpAssertions.JsonBody(new { inputs = new[] { "x" } }))).ReadProblemAsync(HttpStatusCode.Forbidden);
        await (await trainer.PostAsync("/v2/models/nope/infer", HttpAssertions.JsonBody(new { }))).ReadOipErrorAsync(HttpStatusCode.Forbidden);

        // Registry changes belong to trainers; keys and audit to admins.
        await (await predictor.DeleteAsync("/v1/models/nope/aliases/production")).ReadProblemAsync(HttpStatusCode.Forbidden);
        await (await trainer.DeleteAsync("/v1/models/nope/aliases/production")).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await trainer.GetAsync("/v1/api-keys")).ReadProblemAsync(HttpStatusCode.Forbidden);
        await (await trainer.GetAsync("/v1/audit")).ReadProblemAsync(HttpStatusCode.Forbidden);
        await (await predictor.GetAsync("/metrics")).ReadProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task The_hangfire_dashboard_is_for_admin_keys_only()
    {
        var (_, train) = await SecurityApi.CreateKeyAsync(service.Client, "train");
        using var none = SecurityApi.ClientWithKey(service.Factory, null);
        using var trainer = SecurityApi.ClientWithKey(service.Factory, train);

        Assert.Equal(HttpStatusCode.Unauthorized, (await none.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await trainer.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Invalid_key_requests_are_refused_naming_the_field()
    {
        var bad = await (await service.Client.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new { name = "", scopes = new[] { "root" }, expires_at = DateTimeOffset.UtcNow.AddDays(-1) })))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        var fields = bad["errors"]!.AsArray().Select(e => (string?)e!["field"]).ToList();
        Assert.Contains("name", fields);
        Assert.Contains("scopes[0]", fields);
        Assert.Contains("expires_at", fields);

        var none = await (await service.Client.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new { name = "x" }))).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("scopes", none["errors"]!.AsArray().Select(e => (string?)e!["field"]));

        await (await service.Client.DeleteAsync("/v1/api-keys/key_nothing")).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    private static string Base64(string base64Url)
    {
        string s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }
}

public sealed class ApiKeyOnSqliteTests(SqliteServiceFixture service) : ApiKeyTests<SqliteServiceFixture>(service);

public sealed class ApiKeyOnPostgresTests(PostgresServiceFixture service) : ApiKeyTests<PostgresServiceFixture>(service);
