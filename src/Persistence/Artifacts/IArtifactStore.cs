namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Where files too large for a row live: uploaded datasets, checkpoints and model artifacts. Every file is
/// content-hashed when written and checked against that hash when read, so a damaged file is an error, never
/// silently used. The local directory implementation is the default; a shared volume or an object store can
/// replace it behind this interface.
/// </summary>
public interface IArtifactStore
{
    /// <summary>
    /// Starts writing <paramref name="key"/>. Nothing is visible under the key until
    /// <see cref="ArtifactWrite.CommitAsync"/>; disposing an uncommitted write discards what was written.
    /// </summary>
    ArtifactWrite BeginWrite(string key);

    /// <summary>
    /// Opens <paramref name="key"/> for reading after checking its length and SHA-256 against what was recorded when
    /// it was written. The whole file is hashed before the first byte is handed out, so a damaged file is refused
    /// with <see cref="ArtifactIntegrityException"/> rather than half-parsed into a confusing error. For an encrypted
    /// file the length and hash are those of the plaintext, checked after every chunk has been authenticated.
    /// </summary>
    /// <exception cref="ArtifactNotFoundException">No artifact is stored under the key.</exception>
    /// <exception cref="ArtifactIntegrityException">The stored bytes are not the ones that were written.</exception>
    /// <exception cref="ArtifactEncryptionKeyException">The file is encrypted and no key, or another key, is configured.</exception>
    Task<Stream> OpenReadAsync(string key, string expectedSha256, long expectedSizeBytes, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="key"/>; removing a key that is not there is not an error.</summary>
    void Delete(string key);

    /// <summary>True when something is stored under <paramref name="key"/>.</summary>
    bool Exists(string key);

    /// <summary>
    /// Every file in the store, in no particular order, the temporary files of writes in progress (or abandoned by a
    /// crash) included and marked; what garbage collection, key rotation and backups walk.
    /// </summary>
    IAsyncEnumerable<ArtifactFile> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Rewrites the file under <paramref name="key"/> encrypted with the current key when it is encrypted with another
    /// (a previous key still configured), atomically: the new file replaces the old one only once it is complete,
    /// and every chunk of the old one was authenticated on the way.
    /// </summary>
    /// <returns>True when the file was rewritten; false when it is plaintext, already under the current key, or was deleted meanwhile.</returns>
    /// <exception cref="ArtifactEncryptionKeyException">The file is under a key that is not configured.</exception>
    /// <exception cref="ArtifactIntegrityException">The file is damaged; it is left as it was.</exception>
    Task<bool> ReencryptAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>A file in the store, as <see cref="IArtifactStore.ListAsync"/> finds it.</summary>
/// <param name="Key">The key (path) it is stored under.</param>
/// <param name="SizeBytes">Its size on disk (larger than the plaintext when encrypted).</param>
/// <param name="LastWrittenAt">When it was last written.</param>
/// <param name="EncryptionKeyId">The id of the key it is encrypted with; null for plaintext.</param>
/// <param name="IsPartial">A temporary file of a write in progress, or abandoned by a crash.</param>
public sealed record ArtifactFile(string Key, long SizeBytes, DateTimeOffset LastWrittenAt, string? EncryptionKeyId, bool IsPartial);

/// <summary>What a committed write stored.</summary>
public sealed record StoredArtifact(string Key, string Sha256, long SizeBytes);

/// <summary>
/// A stored file's content is not what was written: its length or SHA-256 differs from what was recorded, or, for an
/// encrypted file, a chunk failed authentication.
/// </summary>
public class ArtifactIntegrityException : IOException
{
    public ArtifactIntegrityException(string key, string expected, string actual)
        : this(key, $"Artifact '{key}' is corrupted: its SHA-256 is {actual}, but {expected} was recorded when it was written.")
    {
    }

    public ArtifactIntegrityException(string key, string message)
        : base(message) => Key = key;

    public string Key { get; }
}

/// <summary>
/// A stored file is encrypted, and the configured encryption key cannot read it: none is configured, or it is not the
/// key the file was written with. The bytes may be intact; the configuration is what to fix.
/// </summary>
public sealed class ArtifactEncryptionKeyException(string key, string message) : ArtifactIntegrityException(key, message);

/// <summary>No artifact is stored under the key.</summary>
public sealed class ArtifactNotFoundException(string key)
    : FileNotFoundException($"Artifact '{key}' is missing from the artifact store.")
{
    public string Key { get; } = key;
}
