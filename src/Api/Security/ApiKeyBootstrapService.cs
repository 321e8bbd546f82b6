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
    /// <summary>The advisory lock key of the bootstrap on PostgreSQL: "tcboot" in ASCII, unlikely to clash with another user's lock.</summary>
    private const long BootstrapLockId = 0x7463_626F_6F74;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!jobs.Value.ServesApi)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        string? configured = security.Value.BootstrapAdminKey;
        var key = await TryRegisterAsync(db, configured, clock, cancellationToken);
        if (key is null)
        {
            return;
        }

        string secret = key.Value.Secret;
        if (string.IsNullOrEmpty(configured))
        {
            await Console.Out.WriteLineAsync($"""

                The database had no API key, so an admin key was made. It is shown only this once; store it now:

                    {secret}

                Use it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>', and make narrower keys with POST /v1/api-keys.

                """);
            await Console.Out.FlushAsync(cancellationToken);
        }

        LogBootstrapped(logger, key.Value.Row.Id, key.Value.Row.Prefix, string.IsNullOrEmpty(configured) ? "generated and printed to stdout" : "Security:BootstrapAdminKey");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Registers the bootstrap admin key when the database holds no key, under a database-wide lock, so that of any
    /// number of processes starting at once on an empty database exactly one registers a key and the others find it.
    /// PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback, also when the process dies).
    /// SQLite: the transaction begins IMMEDIATE (Microsoft.Data.Sqlite's default), which takes the database's write
    /// lock before the check, so a second writer waits (busy timeout) and then sees the first one's key.
    /// </summary>
    /// <returns>The key registered and its secret, or null when a key already existed.</returns>
    internal static async Task<(ApiKey Row, string Secret)?> TryRegisterAsync(
        ServiceDbContext db, string? configured, TimeProvider clock, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (db is PostgresServiceDbContext)
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({BootstrapLockId})", cancellationToken);
        }

        if (await db.ApiKeys.AnyAsync(cancellationToken))
        {
            return null;
        }

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
        await transaction.CommitAsync(cancellationToken);
        return (key, secret);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key existed; admin key {KeyId} ({Prefix}…) registered from {Source}")]
    private static partial void LogBootstrapped(ILogger logger, string keyId, string prefix, string source);
}
