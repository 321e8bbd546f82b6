using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Api.Tests.Security;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Maintenance;

/// <summary>
/// The <c>backup</c> and <c>restore</c> commands of the service executable, run as an operator runs them (a separate
/// process, configured by environment) against a real service with encrypted artifacts: back up while it serves,
/// wipe it, restore, and everything is back, byte for byte where it can be compared so.
/// </summary>
public abstract class BackupRestoreTests : IDisposable
{
    private static readonly string[] Texts = ["what is my account balance", "please wire money to my friend", "hey there good morning", "i lost my card", "pizza tonight"];

    private readonly TempDirectory _root = new("backup");
    private readonly string _encryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public void Dispose()
    {
        _root.Dispose();
        GC.SuppressFinalize(this);
    }

    protected string Data => _root.Combine("data");

    protected string Backup => _root.Combine("backup");

    protected string EncryptionKey => _encryptionKey;

    /// <summary>A new, empty database (null for SQLite, whose file lives in the data directory).</summary>
    protected abstract Task<string?> CreateDatabaseAsync();

    [Fact]
    public async Task A_service_backed_up_wiped_and_restored_has_every_dataset_version_alias_key_and_audit_entry_back_and_predicts_byte_for_byte_the_same()
    {
        var settings = new Dictionary<string, string?> { ["Persistence:EncryptionKey"] = _encryptionKey };
        Snapshot before;
        string trainKey;
        string? database = await CreateDatabaseAsync();
        await using (var service = new ServiceFactory(Data, database, settings))
        {
            using var client = service.CreateClient();
            string training = await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer", "card_lost", "greeting", "oos"], 20, seed: 11), "train.csv");
            await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer"], 5, seed: 12), "extra.csv");
            string job = (string)(await JobsApi.CreateAsync(client, new
            {
                training_dataset_id = training,
                model = "intents",
                out_of_scope_label = "oos",
                hyperparameters = new { epochs = 2, batch_size = 8 },
            }))["id"]!;
            Assert.Equal("succeeded", (string)(await JobsApi.WaitForEndAsync(client, job, TimeSpan.FromMinutes(3)))["status"]!);
            await (await client.PutAsync("/v1/models/intents/aliases/production", HttpAssertions.JsonBody(new { version = 1 }))).ReadJsonAsync(HttpStatusCode.OK);
            (_, trainKey) = await SecurityApi.CreateKeyAsync(client, "train");
            before = await SnapshotAsync(client);

            // Online: the service is still running while the backup is taken.
            var backup = await RunCliAsync("backup", Backup, database);
            Assert.True(backup.ExitCode == 0, backup.Output);
            Assert.Contains("Backed up the ", backup.Output, StringComparison.Ordinal);
        }

        // Wiped: no data directory, and (PostgreSQL) a new, empty database.
        Directory.Delete(Data, recursive: true);
        database = await CreateDatabaseAsync();
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Backup, "manifest.json")))!;
        Assert.True(manifest["artifacts"]!.AsArray().Count >= 5, manifest.ToJsonString());

        var restore = await RunCliAsync("restore", Backup, database);
        Assert.True(restore.ExitCode == 0, restore.Output);

        await using (var restored = new ServiceFactory(Data, database, settings))
        {
            using var client = restored.CreateClient();
            var after = await SnapshotAsync(client);
            Assert.Equal(before.Datasets, after.Datasets);
            Assert.Equal(before.Model, after.Model);
            Assert.Equal(before.Keys, after.Keys);
            Assert.Equal(before.AuditIds, after.AuditIds);
            Assert.Equal(before.ByAlias, after.ByAlias);
            Assert.Equal(before.ByVersion, after.ByVersion);
            using var train = SecurityApi.ClientWithKey(restored, trainKey);
            await (await train.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);
        }

        // Restoring over an installation that has data is refused, and changes nothing.
        var again = await RunCliAsync("restore", Backup, database);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("restore only into an empty installation", again.Output, StringComparison.Ordinal);
    }

    private sealed record Snapshot(string Datasets, string Model, string Keys, string AuditIds, string ByAlias, string ByVersion);

    private static async Task<Snapshot> SnapshotAsync(HttpClient client)
    {
        string datasets = await (await client.GetAsync("/v1/datasets")).Content.ReadAsStringAsync();
        string model = await (await client.GetAsync("/v1/models/intents")).Content.ReadAsStringAsync();
        // last_used_at moves with every request: compare what a key is, not when it was last used.
        var keys = (await (await client.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray()
            .Select(k => $"{k!["id"]} {k["name"]} {k["prefix"]} {k["scopes"]!.ToJsonString()} {k["created_at"]} {k["revoked_at"]}");
        var audit = (await (await client.GetAsync("/v1/audit?limit=200")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray()
            .Select(e => $"{e!["id"]} {e["action"]} {e["resource_id"]}");
        byte[] byAlias = await (await client.PostAsync("/v1/models/intents/predict", HttpAssertions.JsonBody(new { inputs = Texts, top_k = 3 }))).Content.ReadAsByteArrayAsync();
        byte[] byVersion = await (await client.PostAsync("/v1/models/intents/versions/1/predict", HttpAssertions.JsonBody(new { inputs = Texts, top_k = 3 }))).Content.ReadAsByteArrayAsync();
        Assert.Contains("\"predictions\"", System.Text.Encoding.UTF8.GetString(byAlias), StringComparison.Ordinal);
        return new Snapshot(datasets, model, string.Join('\n', keys.Order(StringComparer.Ordinal)), string.Join('\n', audit.Order(StringComparer.Ordinal)),
            Convert.ToHexString(byAlias), Convert.ToHexString(byVersion));
    }

    /// <summary>Runs <c>TextClassification.Api &lt;command&gt; &lt;directory&gt;</c> as an operator would, configured by environment.</summary>
    protected async Task<(int ExitCode, string Output)> RunCliAsync(string command, string directory, string? postgres = null)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string apiDll = Path.Combine(RepositoryPaths.Root, "src", "Api", "bin", output.Parent!.Name, output.Name, "TextClassification.Api.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { apiDll, command, directory },
            WorkingDirectory = Path.GetDirectoryName(apiDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["Persistence__DataDirectory"] = Data;
        start.Environment["Persistence__EncryptionKey"] = _encryptionKey;
        if (postgres is not null)
        {
            start.Environment["Persistence__Provider"] = "PostgreSql";
            start.Environment["Persistence__ConnectionString"] = postgres;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, $"{await stdout}\n{await stderr}");
    }
}

public sealed class SqliteBackupRestoreTests : BackupRestoreTests
{
    protected override Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);

    [Fact]
    public async Task A_damaged_or_incomplete_backup_is_refused_by_naming_the_file_and_nothing_is_restored()
    {
        await using (var service = new ServiceFactory(Data, null, new Dictionary<string, string?> { ["Persistence:EncryptionKey"] = EncryptionKey, ["Jobs:Role"] = "Api" }))
        {
            using var client = service.CreateClient();
            await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["balance", "transfer"], 10, seed: 3), "a.csv");
            await JobsApi.UploadAsync(client, SyntheticIntents.Csv(["greeting", "weather"], 10, seed: 4), "b.csv");
        }

        Assert.Equal(0, (await RunCliAsync("backup", Backup)).ExitCode);
        var refusedTarget = await RunCliAsync("backup", Backup);
        Assert.Equal(1, refusedTarget.ExitCode);
        Assert.Contains("is not empty", refusedTarget.Output, StringComparison.Ordinal);

        Directory.Delete(Data, recursive: true);
        string damaged = Directory.GetFiles(Path.Combine(Backup, "artifacts", "datasets")).Order(StringComparer.Ordinal).Last();
        byte[] content = await File.ReadAllBytesAsync(damaged);
        content[^1] ^= 0x01;
        await File.WriteAllBytesAsync(damaged, content);

        var refused = await RunCliAsync("restore", Backup);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"The backup is damaged: '{damaged}' has SHA-256", refused.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Data, "service.db")));
        Assert.Empty(Directory.Exists(Data) ? Directory.GetFileSystemEntries(Data, "*", SearchOption.AllDirectories).Where(File.Exists) : []);

        File.Delete(damaged);
        var missing = await RunCliAsync("restore", Backup);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"'{damaged}' is listed in its manifest but missing", missing.Output, StringComparison.Ordinal);

        File.Delete(Path.Combine(Backup, "manifest.json"));
        var incomplete = await RunCliAsync("restore", Backup);
        Assert.Equal(1, incomplete.ExitCode);
        Assert.Contains("has no manifest.json", incomplete.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Data, "service.db")));
    }
}

public sealed class PostgresBackupRestoreTests : BackupRestoreTests
{
    protected override async Task<string?> CreateDatabaseAsync() => await (await SharedPostgres.GetAsync()).CreateDatabaseAsync("backup");
}
