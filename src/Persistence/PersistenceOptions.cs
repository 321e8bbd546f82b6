using System.ComponentModel.DataAnnotations;

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
///   "ApplyMigrationsOnStartup": true
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

    public string ResolvedDataDirectory => Path.GetFullPath(DataDirectory);

    public string ResolvedArtifactsDirectory => Path.GetFullPath(ArtifactsDirectory ?? Path.Combine(DataDirectory, "artifacts"));

    public string SqliteConnectionString => $"Data Source={Path.Combine(ResolvedDataDirectory, "service.db")};Pooling=True";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == DatabaseProvider.PostgreSql && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Persistence:ConnectionString is required when Persistence:Provider is PostgreSql.",
                [nameof(ConnectionString)]);
        }
    }
}
