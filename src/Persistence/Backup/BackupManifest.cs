using System.Text.Json;
using System.Text.Json.Serialization;

namespace TextClassification.Persistence.Backup;

/// <summary>
/// <c>manifest.json</c> of a backup: what it holds, each file with its SHA-256 and size as written into the backup.
/// Written last, so a backup without one is incomplete. Artifacts are copied as stored (encrypted ones stay
/// encrypted), so the hashes are of the stored bytes and need no key to check.
/// </summary>
/// <param name="Format">The manifest format; this build writes and reads 1.</param>
/// <param name="CreatedAt">When the database snapshot was taken.</param>
/// <param name="Provider">The database it is a backup of: <c>sqlite</c> or <c>postgresql</c>.</param>
/// <param name="Database">The database snapshot: a SQLite file, or a <c>pg_dump</c> archive (custom format).</param>
/// <param name="EncryptionKeyIds">Ids of the keys the artifacts are encrypted with; restoring needs each of them configured.</param>
/// <param name="Artifacts">Every artifact the snapshot refers to (and the encryption key check file), under <c>artifacts/</c>.</param>
public sealed record BackupManifest(
    int Format,
    DateTimeOffset CreatedAt,
    string Provider,
    BackupFile Database,
    IReadOnlyList<string> EncryptionKeyIds,
    IReadOnlyList<BackupFile> Artifacts)
{
    public const int CurrentFormat = 1;

    public const string FileName = "manifest.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>The bytes of all files together.</summary>
    public long TotalBytes => Database.SizeBytes + Artifacts.Sum(a => a.SizeBytes);
}

/// <summary>One file of a backup.</summary>
/// <param name="Path">Relative to the backup directory, with '/' separators.</param>
/// <param name="Sha256">Of the file's bytes, lower-case hex.</param>
/// <param name="SizeBytes">Its length.</param>
public sealed record BackupFile(string Path, string Sha256, long SizeBytes);

/// <summary>
/// A backup or restore that was refused or could not complete; the message says why and names the file or setting
/// concerned, and nothing was left half-written.
/// </summary>
public sealed class BackupException(string message, Exception? inner = null) : Exception(message, inner);
