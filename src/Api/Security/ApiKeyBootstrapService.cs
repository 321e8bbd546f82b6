using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Jobs;

namespace TextClassification.Api.Security;

/// <summary>
/// Makes sure a new installation can be administered: when the database holds no API key at all, registers an admin
/// key — <c>Security:BootstrapAdminKey</c> when the operator gave one, else a new random key printed once to stdout.
/// Once any key exists this does nothing, and <c>Security:BootstrapAdminKey</c> is ignored (it seeds an empty
/// database; it is not a standing way in). Runs after the migrations (hosted services start in order).
/// </summary>
/// <remarks>
/// The generated key goes to stdout with <see cref="Console.Out"/>, not through <see cref="ILogger"/>: logs are
/// structured JSON that is often shipped to a central store, where a secret must never go; stdout of the first start
/// is seen by the operator who started it (<c>docker compose logs api</c> shows it too, so copy it and then rotate it
/// if those logs are kept).
/// </remarks>
internal sealed partial class ApiKeyBootstrapService(
    IServiceScopeFactory scopes,
    IOptions<SecurityOptions> security,
    IOptions<JobsOptions> jobs,
    TimeProvider clock,
    ILogger<ApiKeyBootstrapService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!jobs.Value.ServesApi)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        if (await db.ApiKeys.AnyAsync(cancellationToken))
        {
            return;
        }

        string? configured = security.Value.BootstrapAdminKey;
        string secret = string.IsNullOrEmpty(configured) ? ApiKeySecrets.NewSecret() : configured;
        var key = new ApiKey
        {
            Id = ResourceId.New(ApiKey.IdPrefix, clock),
            Name = "bootstrap admin",
            Prefix = ApiKeySecrets.VisiblePrefix(secret),
            SecretHash = ApiKeySecrets.Hash(secret),
            Scopes = ApiKeyScopes.Admin,
            CreatedBy = AuditLog.Bootstrap,
            CreatedAt = clock.GetUtcNow(),
        };
        db.ApiKeys.Add(key);
        db.AuditEntries.Add(AuditLog.SystemEntry(clock, AuditLog.Actions.ApiKeyCreate, AuditLog.Resources.ApiKey, key.Id,
            new Dictionary<string, string> { ["name"] = key.Name, ["scopes"] = ApiScopes.Admin, ["source"] = string.IsNullOrEmpty(configured) ? "generated" : "configured" }));
        await db.SaveChangesAsync(cancellationToken);

        if (string.IsNullOrEmpty(configured))
        {
            await Console.Out.WriteLineAsync($"""

                The database had no API key, so an admin key was made. It is shown only this once; store it now:

                    {secret}

                Use it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>', and make narrower keys with POST /v1/api-keys.

                """);
            await Console.Out.FlushAsync(cancellationToken);
        }

        LogBootstrapped(logger, key.Id, key.Prefix, string.IsNullOrEmpty(configured) ? "generated and printed to stdout" : "Security:BootstrapAdminKey");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key existed; admin key {KeyId} ({Prefix}…) registered from {Source}")]
    private static partial void LogBootstrapped(ILogger logger, string keyId, string prefix, string source);
}
