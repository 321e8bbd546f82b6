using System.ComponentModel.DataAnnotations;
using TextClassification.Persistence.Artifacts;

namespace TextClassification.Persistence;

/// <summary>Which relational database holds job, dataset and model metadata.</summary>
public enum DatabaseProvider
{
    /// <summary>An embedded SQLite file under <see cref="PersistenceOptions.DataDirectory"/>: nothing to install.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server: what production and multi-process deployments use.</summary>
    PostgreSql,
}

/// <summary>
/// Where metadata and artifacts live. Bound from the <c>Persistence</c> section:
/// <code>
/// "Persistence": {
///   "Provider": "Sqlite" | "PostgreSql",
///   "ConnectionString": "Host=...;Database=...;Username=...;Password=...",   // PostgreSql only
///   "DataDirectory": "data",                  // SQLite file and, by default, the artifacts
///   "ArtifactsDirectory": null,               // defaults to {DataDirectory}/artifacts
///   "ApplyMigrationsOnStartup": true,
///   "EncryptionKey": null,                    // base64 of 32 bytes (`openssl rand -base64 32`): encrypts artifacts
///   "PreviousEncryptionKeys": [],             // older keys that still read, while a rotation re-encrypts their files
///   "PostgresToolsDirectory": null            // pg_dump/pg_restore for backup and restore; default PATH
/// }
/// </code>
/// </summary>
public sealed class PersistenceOptions : IValidatableObject
{
    public const string SectionName = "Persistence";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>The PostgreSQL connection string; ignored for SQLite, whose file lives in <see cref="DataDirectory"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Root of everything written to local disk. Relative paths are resolved against the working directory.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Where the local artifact store keeps files; defaults to <c>{DataDirectory}/artifacts</c>.</summary>
    public string? ArtifactsDirectory { get; set; }

    /// <summary>Operators who migrate by hand (with the SQL scripts from <c>dotnet ef migrations script</c>) turn this off.</summary>
    public bool ApplyMigrationsOnStartup { get; set; } = true;

    /// <summary>
    /// When set, every artifact written from then on is encrypted with AES-256-GCM under this key: base64 of 32 random
    /// bytes, made with <c>openssl rand -base64 32</c>; best supplied by environment variable
    /// (<c>Persistence__EncryptionKey</c>) or a secret store rather than a file in the repository. Files written before
    /// stay readable. Losing the key loses every file encrypted with it, and start-up refuses a key other than the one
    /// the artifacts directory was first encrypted with. Empty or unset: artifacts are written in plaintext.
    /// </summary>
    public string? EncryptionKey { get; set; }

    /// <summary>
    /// Keys that artifacts were encrypted with before <see cref="EncryptionKey"/>: they only read, never write. Set
    /// during a key rotation (the old key here, the new one as <see cref="EncryptionKey"/>), and removed once the
    /// rotation job reports that no file is left under them. Environment: <c>Persistence__PreviousEncryptionKeys__0</c>.
    /// </summary>
    public IList<string> PreviousEncryptionKeys { get; } = [];

    /// <summary>
    /// Where <c>pg_dump</c> and <c>pg_restore</c> are, for the <c>backup</c> and <c>restore</c> commands on PostgreSQL;
    /// unset: PATH, then the newest <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    public string? PostgresToolsDirectory { get; set; }

    public string ResolvedDataDirectory => Path.GetFullPath(DataDirectory);

    public string ResolvedArtifactsDirectory => Path.GetFullPath(ArtifactsDirectory ?? Path.Combine(DataDirectory, "artifacts"));

    public string SqliteConnectionString => $"Data Source={Path.Combine(ResolvedDataDirectory, "service.db")};Pooling=True";

    /// <summary>The parsed <see cref="EncryptionKey"/>, or null when encryption is off.</summary>
    /// <exception cref="FormatException">The key is set but is not base64 of 32 bytes (validation reports this at start).</exception>
    public ArtifactEncryptionKey? ResolveEncryptionKey() =>
        string.IsNullOrWhiteSpace(EncryptionKey) ? null : ArtifactEncryptionKey.Parse(EncryptionKey);

    /// <summary>The current key and the previous ones; <see cref="ArtifactEncryptionKeyRing.None"/> when encryption is off.</summary>
    /// <exception cref="FormatException">A key is not base64 of 32 bytes (validation reports this at start).</exception>
    public ArtifactEncryptionKeyRing ResolveEncryptionKeys() =>
        new(ResolveEncryptionKey(), PreviousEncryptionKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(ArtifactEncryptionKey.Parse));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == DatabaseProvider.PostgreSql && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Persistence:ConnectionString is required when Persistence:Provider is PostgreSql.",
                [nameof(ConnectionString)]);
        }

        // The message never repeats the value: it is a secret, and validation errors end up in logs.
        if (!string.IsNullOrWhiteSpace(EncryptionKey) && !ArtifactEncryptionKey.TryParse(EncryptionKey, out _))
        {
            yield return new ValidationResult(
                $"Persistence:EncryptionKey must be {ArtifactEncryptionKey.SizeInBytes} bytes in base64; {ArtifactEncryptionKey.HowToGenerate}.",
                [nameof(EncryptionKey)]);
        }

        for (int i = 0; i < PreviousEncryptionKeys.Count; i++)
        {
            if (!string.IsNullOrWhiteSpace(PreviousEncryptionKeys[i]) && !ArtifactEncryptionKey.TryParse(PreviousEncryptionKeys[i], out _))
            {
                yield return new ValidationResult(
                    $"Persistence:PreviousEncryptionKeys:{i} must be {ArtifactEncryptionKey.SizeInBytes} bytes in base64, like Persistence:EncryptionKey.",
                    [nameof(PreviousEncryptionKeys)]);
            }
        }

        if (string.IsNullOrWhiteSpace(EncryptionKey) && PreviousEncryptionKeys.Any(k => !string.IsNullOrWhiteSpace(k)))
        {
            yield return new ValidationResult(
                "Persistence:PreviousEncryptionKeys is set but Persistence:EncryptionKey is not: previous keys only read during a rotation to a new key; "
                + $"set the new key as Persistence:EncryptionKey ({ArtifactEncryptionKey.HowToGenerate}).",
                [nameof(PreviousEncryptionKeys)]);
        }
    }
}
