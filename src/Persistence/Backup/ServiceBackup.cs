using System.Data;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using TextClassification.Persistence.Artifacts;

namespace TextClassification.Persistence.Backup;

/// <summary>
/// Backs up and restores the whole service: the database and the artifacts, consistent with each other.
/// </summary>
/// <remarks>
/// <para>
/// Backup, online: first a snapshot of the database (SQLite's online backup API; on PostgreSQL <c>pg_dump</c> run on a
/// snapshot exported from a repeatable-read transaction), then, read from that same snapshot, the artifact keys it
/// refers to, whose files are copied as stored. Files written after the snapshot are not needed by it; a file the
/// snapshot needs that is deleted before it is copied (a dataset deleted meanwhile) makes the attempt start over, up to
/// three times. <see cref="BackupManifest"/> is written last.
/// </para>
/// <para>
/// Restore, into an empty installation only: every file is copied into a staging place beside its destination while
/// its SHA-256 is checked against the manifest, and only when all match is anything put in place (the SQLite file
/// renamed, or <c>pg_restore</c> run in one transaction, then the artifacts directory renamed). A bad backup is refused
/// by naming the first damaged or missing file, and leaves nothing behind.
/// </para>
/// </remarks>
public sealed partial class ServiceBackup(IOptions<PersistenceOptions> options, ILogger<ServiceBackup> logger)
{
    private const string DatabaseFolder = "database";
    private const string ArtifactsFolder = "artifacts";
    private const int Attempts = 3;

    /// <summary>Backs up into <paramref name="target"/>, which must not exist or be empty.</summary>
    /// <exception cref="BackupException">The target is not empty, the database is missing, or an artifact the database refers to is missing.</exception>
    public async Task<BackupManifest> BackupAsync(string target, CancellationToken cancellationToken)
    {
        target = Path.GetFullPath(target);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new BackupException($"The backup directory '{target}' is not empty; back up into a new or empty directory.");
        }

        if (File.Exists(target))
        {
            throw new BackupException($"'{target}' is a file; back up into a new or empty directory.");
        }

        for (int attempt = 1; ; attempt++)
        {
            Directory.CreateDirectory(target);
            try
            {
                var manifest = await TryBackupAsync(target, cancellationToken);
                LogBackedUp(logger, manifest.Provider, manifest.Artifacts.Count, manifest.TotalBytes, target);
                return manifest;
            }
            catch (MissingArtifactException e) when (attempt < Attempts)
            {
                LogRetrying(logger, e.Key, attempt);
                EmptyDirectory(target);
            }
            catch (MissingArtifactException e)
            {
                EmptyDirectory(target);
                throw new BackupException(
                    $"The artifact '{e.Key}' that the database refers to is missing from '{options.Value.ResolvedArtifactsDirectory}' "
                    + $"({Attempts} attempts); a backup without it could not be restored whole.");
            }
            catch
            {
                EmptyDirectory(target);
                throw;
            }
        }
    }

    /// <summary>Restores the backup in <paramref name="source"/> into this installation, whose database and artifacts directory must be empty.</summary>
    /// <exception cref="BackupException">The backup is incomplete or damaged (the first bad file is named), or this installation is not empty.</exception>
    public async Task<BackupManifest> RestoreAsync(string source, CancellationToken cancellationToken)
    {
        source = Path.GetFullPath(source);
        var persistence = options.Value;
        var manifest = await ReadManifestAsync(source, cancellationToken);
        string provider = ProviderName(persistence.Provider);
        if (manifest.Provider != provider)
        {
            throw new BackupException(
                $"The backup in '{source}' is of a {manifest.Provider} database, and Persistence:Provider is {persistence.Provider}: restore it into the same kind of database.");
        }

        var keys = persistence.ResolveEncryptionKeys();
        if (manifest.EncryptionKeyIds.FirstOrDefault(id => keys.Find(id) is null) is { } missingKey)
        {
            throw new BackupException(
                $"The backup's artifacts are encrypted with the key with id {missingKey}, which is not configured (configured: {keys.Describe()}). "
                + "Set Persistence:EncryptionKey (or Persistence:PreviousEncryptionKeys) to that key first.");
        }

        string artifacts = persistence.ResolvedArtifactsDirectory;
        if (Directory.Exists(artifacts) && Directory.EnumerateFileSystemEntries(artifacts).Any())
        {
            throw new BackupException($"The artifacts directory '{artifacts}' is not empty: restore only into an empty installation.");
        }

        await EnsureDatabaseEmptyAsync(persistence, cancellationToken);

        string suffix = $".restoring-{Guid.NewGuid():N}";
        string stagedArtifacts = artifacts.TrimEnd(Path.DirectorySeparatorChar) + suffix;
        string stagedDatabase = persistence.Provider == DatabaseProvider.Sqlite
            ? Path.Combine(persistence.ResolvedDataDirectory, "service.db" + suffix)
            : Path.Combine(Path.GetTempPath(), "service.dump" + suffix);
        string? placedDatabase = null;
        try
        {
            Directory.CreateDirectory(persistence.ResolvedDataDirectory);
            await CopyVerifiedAsync(source, manifest.Database, stagedDatabase, cancellationToken);
            foreach (var file in manifest.Artifacts)
            {
                await CopyVerifiedAsync(source, file, Path.Combine(stagedArtifacts, file.Path[(ArtifactsFolder.Length + 1)..]), cancellationToken);
            }

            // Everything is verified and staged: put it in place, the database first.
            if (persistence.Provider == DatabaseProvider.Sqlite)
            {
                placedDatabase = Path.Combine(persistence.ResolvedDataDirectory, "service.db");
                File.Move(stagedDatabase, placedDatabase, overwrite: false);
            }
            else
            {
                await PostgresTools.RunAsync("pg_restore", persistence.PostgresToolsDirectory, persistence.ConnectionString!,
                    ["--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "--dbname", DatabaseName(persistence), stagedDatabase],
                    cancellationToken);
            }

            if (Directory.Exists(artifacts))
            {
                Directory.Delete(artifacts);
            }

            Directory.CreateDirectory(stagedArtifacts);
            Directory.Move(stagedArtifacts, artifacts);
        }
        catch
        {
            DeleteQuietly(stagedDatabase);
            if (Directory.Exists(stagedArtifacts))
            {
                Directory.Delete(stagedArtifacts, recursive: true);
            }

            if (placedDatabase is not null && !Directory.Exists(artifacts))
            {
                DeleteQuietly(placedDatabase);
            }

            throw;
        }
        finally
        {
            if (persistence.Provider == DatabaseProvider.PostgreSql)
            {
                DeleteQuietly(stagedDatabase);
            }
        }

        LogRestored(logger, manifest.Provider, manifest.Artifacts.Count, manifest.TotalBytes, source);
        return manifest;
    }

    private async Task<BackupManifest> TryBackupAsync(string target, CancellationToken cancellationToken)
    {
        var persistence = options.Value;
        Directory.CreateDirectory(Path.Combine(target, DatabaseFolder));
        var createdAt = DateTimeOffset.UtcNow;
        var (database, referenced) = persistence.Provider == DatabaseProvider.Sqlite
            ? await SnapshotSqliteAsync(persistence, target, cancellationToken)
            : await SnapshotPostgresAsync(persistence, target, cancellationToken);

        string artifacts = persistence.ResolvedArtifactsDirectory;
        var files = new List<BackupFile>();
        var keyIds = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string key in referenced.Order(StringComparer.Ordinal))
        {
            files.Add(await CopyArtifactAsync(Path.Combine(artifacts, key), target, key, keyIds, cancellationToken)
                ?? throw new MissingArtifactException(key));
        }

        // The key check file goes too: a restored installation then checks its key exactly as this one does.
        if (await CopyArtifactAsync(Path.Combine(artifacts, ArtifactEncryptionKeyCheck.FileName), target, ArtifactEncryptionKeyCheck.FileName, keyIds, cancellationToken) is { } check)
        {
            files.Add(check);
        }

        var manifest = new BackupManifest(BackupManifest.CurrentFormat, createdAt, ProviderName(persistence.Provider), database, [.. keyIds], files);
        string path = Path.Combine(target, BackupManifest.FileName);
        await File.WriteAllBytesAsync(path + ".partial", JsonSerializer.SerializeToUtf8Bytes(manifest, BackupManifest.Json), cancellationToken);
        File.Move(path + ".partial", path);
        return manifest;
    }

    private static async Task<(BackupFile Database, HashSet<string> Referenced)> SnapshotSqliteAsync(
        PersistenceOptions persistence, string target, CancellationToken cancellationToken)
    {
        string live = Path.Combine(persistence.ResolvedDataDirectory, "service.db");
        if (!File.Exists(live))
        {
            throw new BackupException($"There is no database to back up at '{live}'.");
        }

        string file = Path.Combine(target, DatabaseFolder, "service.db");
        await using (var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = live, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString()))
        await using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            await source.OpenAsync(cancellationToken);
            await copy.OpenAsync(cancellationToken);
            // Online: a consistent copy of the database as of one moment, while the service keeps writing.
            source.BackupDatabase(copy);
            // A self-contained file: the copy inherits WAL mode, which would leave its last pages in a -wal file.
            await using var command = copy.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=DELETE;";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        HashSet<string> referenced;
        var builder = new DbContextOptionsBuilder<SqliteServiceDbContext>()
            .UseSqlite(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await using (var db = new SqliteServiceDbContext(builder.Options))
        {
            referenced = await ArtifactReferences.ReadAsync(db, cancellationToken);
        }

        return (await DescribeAsync(file, $"{DatabaseFolder}/service.db", cancellationToken), referenced);
    }

    private static async Task<(BackupFile Database, HashSet<string> Referenced)> SnapshotPostgresAsync(
        PersistenceOptions persistence, string target, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(persistence.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        string snapshot;
        await using (var export = new NpgsqlCommand("SELECT pg_export_snapshot()", connection, transaction))
        {
            snapshot = (string)(await export.ExecuteScalarAsync(cancellationToken))!;
        }

        // pg_dump reads the very snapshot this transaction holds open; the references below are read from it too.
        string file = Path.Combine(target, DatabaseFolder, "service.dump");
        await PostgresTools.RunAsync("pg_dump", persistence.PostgresToolsDirectory, persistence.ConnectionString!,
            ["--format=custom", "--no-owner", "--no-privileges", $"--snapshot={snapshot}", "--file", file], cancellationToken);

        HashSet<string> referenced;
        var builder = new DbContextOptionsBuilder<PostgresServiceDbContext>().UseNpgsql(connection);
        await using (var db = new PostgresServiceDbContext(builder.Options))
        {
            await db.Database.UseTransactionAsync(transaction, cancellationToken);
            referenced = await ArtifactReferences.ReadAsync(db, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (await DescribeAsync(file, $"{DatabaseFolder}/service.dump", cancellationToken), referenced);
    }

    /// <summary>Copies one stored file as it is, hashing what is written; null when it does not exist.</summary>
    private static async Task<BackupFile?> CopyArtifactAsync(string source, string target, string key, SortedSet<string> keyIds, CancellationToken cancellationToken)
    {
        FileStream input;
        try
        {
            input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        string relative = $"{ArtifactsFolder}/{key}";
        string destination = Path.Combine(target, ArtifactsFolder, key);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        await using (input)
        {
            var (sha256, length, header) = await CopyAndHashAsync(input, destination, cancellationToken);
            if (EncryptedArtifactFormat.TryReadHeader(header, out _, out string keyId, out _))
            {
                keyIds.Add(keyId);
            }

            return new BackupFile(relative, sha256, length);
        }
    }

    private static async Task<(string Sha256, long Length, byte[] Header)> CopyAndHashAsync(Stream input, string destination, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 16];
        byte[] header = new byte[EncryptedArtifactFormat.HeaderSize];
        int headerLength = 0;
        long length = 0;
        await using (var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            int read;
            while ((read = await input.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                if (headerLength < header.Length)
                {
                    int take = Math.Min(read, header.Length - headerLength);
                    buffer.AsSpan(0, take).CopyTo(header.AsSpan(headerLength));
                    headerLength += take;
                }

                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                length += read;
            }

            output.Flush(flushToDisk: true);
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), length, header[..headerLength]);
    }

    private static async Task<BackupFile> DescribeAsync(string path, string relative, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return new BackupFile(relative, Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken)), file.Length);
    }

    private static async Task<BackupManifest> ReadManifestAsync(string source, CancellationToken cancellationToken)
    {
        string path = Path.Combine(source, BackupManifest.FileName);
        if (!File.Exists(path))
        {
            throw new BackupException($"'{source}' is not a complete backup: it has no {BackupManifest.FileName} (a backup writes it last).");
        }

        BackupManifest? manifest;
        try
        {
            await using var file = File.OpenRead(path);
            manifest = await JsonSerializer.DeserializeAsync<BackupManifest>(file, BackupManifest.Json, cancellationToken);
        }
        catch (JsonException e)
        {
            throw new BackupException($"'{path}' is not a valid backup manifest: {e.Message}", e);
        }

        if (manifest?.Database is null || manifest.Artifacts is null || manifest.EncryptionKeyIds is null || manifest.Provider is null)
        {
            throw new BackupException($"'{path}' is not a valid backup manifest: it lacks the database, the artifacts or the provider.");
        }

        if (manifest.Format != BackupManifest.CurrentFormat)
        {
            throw new BackupException($"'{path}' has backup format {manifest.Format}; this build restores format {BackupManifest.CurrentFormat}.");
        }

        // A manifest names where files go: nothing may point outside the installation.
        string expectedDatabase = manifest.Provider == ProviderName(DatabaseProvider.Sqlite) ? $"{DatabaseFolder}/service.db" : $"{DatabaseFolder}/service.dump";
        if (manifest.Database.Path != expectedDatabase)
        {
            throw new BackupException($"'{path}' is not a valid backup manifest: the database file must be '{expectedDatabase}', not '{manifest.Database.Path}'.");
        }

        foreach (var file in manifest.Artifacts)
        {
            string? key = file?.Path is { } p && p.StartsWith(ArtifactsFolder + "/", StringComparison.Ordinal) ? p[(ArtifactsFolder.Length + 1)..] : null;
            if (file?.Sha256 is null || key is null || (key != ArtifactEncryptionKeyCheck.FileName && !LocalDirectoryArtifactStore.IsValidKey(key)))
            {
                throw new BackupException($"'{path}' is not a valid backup manifest: '{file?.Path}' is not an artifact path.");
            }
        }

        return manifest;
    }

    /// <summary>Copies a backup file to <paramref name="destination"/> and checks its size and SHA-256 against the manifest.</summary>
    private static async Task CopyVerifiedAsync(string source, BackupFile file, string destination, CancellationToken cancellationToken)
    {
        string path = Path.Combine(source, file.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        FileStream input;
        try
        {
            input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BackupException($"The backup is incomplete: '{path}' is listed in its manifest but missing. Nothing was restored.");
        }

        string sha256;
        long length;
        await using (input)
        {
            (sha256, length, _) = await CopyAndHashAsync(input, destination, cancellationToken);
        }

        if (length != file.SizeBytes || !string.Equals(sha256, file.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BackupException(
                $"The backup is damaged: '{path}' has SHA-256 {sha256} ({length} bytes), but its manifest records {file.Sha256} ({file.SizeBytes} bytes). Nothing was restored.");
        }
    }

    private static async Task EnsureDatabaseEmptyAsync(PersistenceOptions persistence, CancellationToken cancellationToken)
    {
        if (persistence.Provider == DatabaseProvider.Sqlite)
        {
            string file = Path.Combine(persistence.ResolvedDataDirectory, "service.db");
            if (File.Exists(file))
            {
                throw new BackupException($"The database '{file}' exists: restore only into an empty installation (move it away first).");
            }

            return;
        }

        await using var connection = new NpgsqlConnection(persistence.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", connection);
        long tables = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        if (tables > 0)
        {
            throw new BackupException(
                $"The database '{connection.Database}' holds {tables} table(s): restore only into an empty database (create a new one, and point Persistence:ConnectionString at it).");
        }
    }

    private static string DatabaseName(PersistenceOptions persistence) =>
        new NpgsqlConnectionStringBuilder(persistence.ConnectionString).Database!;

    private static string ProviderName(DatabaseProvider provider) => provider == DatabaseProvider.PostgreSql ? "postgresql" : "sqlite";

    private static void EmptyDirectory(string directory)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }

    private static void DeleteQuietly(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backed up the {Provider} database and {Artifacts} artifact file(s), {Bytes} bytes in all, to {Target}")]
    private static partial void LogBackedUp(ILogger logger, string provider, int artifacts, long bytes, string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact {Key} was deleted while the backup copied it (attempt {Attempt}); starting over from a new snapshot")]
    private static partial void LogRetrying(ILogger logger, string key, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored the {Provider} database and {Artifacts} artifact file(s), {Bytes} bytes in all, from {Source}")]
    private static partial void LogRestored(ILogger logger, string provider, int artifacts, long bytes, string source);

    private sealed class MissingArtifactException(string key) : Exception($"Artifact '{key}' is missing.")
    {
        public string Key { get; } = key;
    }
}
