using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Makes a wrong <see cref="PersistenceOptions.EncryptionKey"/> a start-up failure instead of a stream of unreadable
/// artifacts. The first start with encryption leaves a small key check file in the artifacts directory: a known value
/// encrypted with the key. Every later start decrypts it, and stops the host when no configured key (the current one
/// or a <see cref="PersistenceOptions.PreviousEncryptionKeys">previous</see> one) is the one that made it. When the
/// file is missing (deleted, or lost with a partial restore) the artifacts themselves are tried: every encrypted
/// file's header must name a configured key, and that key must open a file sealed with it, before the check file is
/// made again. Registered before the migrations, so it runs before anything else.
/// </summary>
/// <remarks>
/// Invariant kept with <see cref="ArtifactKeyRotation"/>: the check file is sealed with the current key only when no
/// artifact is under another key. During a rotation it stays under the old key, so a start that drops the old key
/// too early is refused; the rotation reseals it under the new key as its last step.
/// </remarks>
internal sealed partial class ArtifactEncryptionKeyCheck(IOptions<PersistenceOptions> options, ILogger<ArtifactEncryptionKeyCheck> logger) : IHostedService
{
    /// <summary>Upper case, which no artifact key may contain, so it cannot collide with an artifact.</summary>
    public const string FileName = "ENCRYPTION-KEY-CHECK";

    /// <summary>How many files under one key are tried before a key whose id matches is called wrong (a damaged file fails too).</summary>
    private const int FilesTriedPerKey = 3;

    private static ReadOnlySpan<byte> KnownValue => "TextClassification artifact encryption key check, format 1"u8;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string directory = options.Value.ResolvedArtifactsDirectory;
        string path = Path.Combine(directory, FileName);
        var keys = options.Value.ResolveEncryptionKeys();
        if (keys.Current is null)
        {
            if (File.Exists(path))
            {
                LogEncryptedButNoKey(logger, directory);
            }

            return;
        }

        var (outcome, sealedWith) = await EnsureMatchesAsync(directory, keys, cancellationToken);
        LogEncryptionOn(logger, keys.Current.Id, outcome, path);
        if (sealedWith.Id != keys.Current.Id)
        {
            LogRotationPending(logger, sealedWith.Id, keys.Current.Id);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Checks the configured <paramref name="keys"/> against the directory's key check file, or, when there is none,
    /// against the encrypted artifacts, and then makes the check file.
    /// </summary>
    /// <returns>What was done (for the log) and the key the check file is sealed with.</returns>
    /// <exception cref="InvalidOperationException">No configured key is the one the artifacts were written with, or the check file is damaged.</exception>
    internal static async Task<(string Outcome, ArtifactEncryptionKey SealedWith)> EnsureMatchesAsync(
        string directory, ArtifactEncryptionKeyRing keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys.Current, nameof(keys));
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            var (sealWith, tried) = await ProbeArtifactsAsync(directory, keys, cancellationToken);
            if (await TryWriteAsync(directory, sealWith, overwrite: false, cancellationToken))
            {
                return (tried == 0 ? "created" : $"created after {tried} artifact(s) opened with the configured keys", sealWith);
            }
        }

        return ("verified", Verify(path, directory, keys, await File.ReadAllBytesAsync(path, cancellationToken)));
    }

    /// <summary>Seals a new check file with <paramref name="key"/>, replacing the old one: the last step of a key rotation.</summary>
    internal static Task ResealAsync(string directory, ArtifactEncryptionKey key, CancellationToken cancellationToken) =>
        TryWriteAsync(directory, key, overwrite: true, cancellationToken);

    /// <summary>The id of the key the check file is sealed with, or null when there is none (or its header is unreadable).</summary>
    internal static string? SealingKeyId(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        byte[] header = new byte[EncryptedArtifactFormat.HeaderSize];
        using var file = File.OpenRead(path);
        int read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        return EncryptedArtifactFormat.TryReadHeader(header.AsSpan(0, read), out _, out string keyId, out _) ? keyId : null;
    }

    private static async Task<bool> TryWriteAsync(string directory, ArtifactEncryptionKey key, bool overwrite, CancellationToken cancellationToken)
    {
        string path = Path.Combine(directory, FileName);
        Directory.CreateDirectory(directory);
        string temporary = $"{path}.{Guid.NewGuid():N}.partial";
        await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        await using (var encrypting = new EncryptingArtifactStream(file, key, FileName))
        {
            await encrypting.WriteAsync(KnownValue.ToArray(), cancellationToken);
            await encrypting.CompleteAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }

        try
        {
            // No overwrite at start: when two processes start at once, the second finds the first one's file and checks it.
            File.Move(temporary, path, overwrite);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }

    /// <summary>
    /// With no check file, proves the configured keys on the artifacts themselves: every encrypted file must name a
    /// configured key in its header (the id is a keyed hash of the key), and each key named must open one of its files
    /// (AES-GCM authentication fails under any other key).
    /// </summary>
    /// <returns>The key to seal the new check file with (a previous key while files remain under one) and how many files were opened.</returns>
    private static async Task<(ArtifactEncryptionKey SealWith, int Tried)> ProbeArtifactsAsync(
        string directory, ArtifactEncryptionKeyRing keys, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            return (keys.Current!, 0);
        }

        var store = new LocalDirectoryArtifactStore(directory, keys);
        var sealWith = keys.Current!;
        var opened = new HashSet<string>();
        var failures = new Dictionary<string, List<string>>();
        int tried = 0;
        await foreach (var file in store.ListAsync(cancellationToken))
        {
            if (file.IsPartial || file.EncryptionKeyId is not { } keyId)
            {
                continue;
            }

            var key = keys.Find(keyId) ?? throw new InvalidOperationException(
                $"The artifact '{Path.Combine(directory, file.Key)}' was encrypted with the key with id {keyId}, but the configured keys have ids "
                + $"{keys.Describe()} (and the encryption key check file is missing). Configure the key the artifacts were written with; "
                + "artifacts encrypted with it cannot be read with any other.");
            if (key != keys.Current)
            {
                sealWith = key;
            }

            if (opened.Contains(keyId) || (failures.TryGetValue(keyId, out var failed) && failed.Count >= FilesTriedPerKey))
            {
                continue;
            }

            tried++;
            if (await OpensFirstChunkAsync(Path.Combine(directory, file.Key), file.Key, key, cancellationToken))
            {
                opened.Add(keyId);
            }
            else
            {
                failures.TryAdd(keyId, []);
                failures[keyId].Add(Path.Combine(directory, file.Key));
            }
        }

        foreach (var (keyId, files) in failures.Where(f => !opened.Contains(f.Key)))
        {
            throw new InvalidOperationException(
                $"The encryption key check file is missing, and the artifacts encrypted under key id {keyId} do not decrypt with the configured key "
                + $"of that id ({string.Join(", ", files.Select(f => $"'{f}'"))}): either the key is not the one they were written with, or the files are damaged.");
        }

        return (sealWith, tried);
    }

    private static async Task<bool> OpensFirstChunkAsync(string path, string artifactKey, ArtifactEncryptionKey key, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
        byte[] header = new byte[EncryptedArtifactFormat.HeaderSize];
        if (await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken) < header.Length
            || !EncryptedArtifactFormat.TryReadHeader(header, out int chunkSize, out _, out _))
        {
            return false;
        }

        long plaintextLength = LocalDirectoryArtifactStore.PlaintextLengthOf(file.Length, chunkSize);
        if (plaintextLength < 0)
        {
            return false;
        }

        // Only the first chunk is read: enough to prove the key, whatever the size of the file.
        int firstLength = (int)Math.Min(chunkSize, plaintextLength);
        byte[] sealedChunk = new byte[firstLength + EncryptedArtifactFormat.TagSize];
        if (await file.ReadAtLeastAsync(sealedChunk, sealedChunk.Length, throwOnEndOfStream: false, cancellationToken) < sealedChunk.Length)
        {
            return false;
        }

        using var cipher = new EncryptedArtifactFormat.ChunkCipher(key, header, artifactKey);
        bool final = EncryptedArtifactFormat.ChunkCount(plaintextLength, chunkSize) == 1;
        return cipher.TryOpen(0, final, sealedChunk, new byte[firstLength]);
    }

    private static ArtifactEncryptionKey Verify(string path, string directory, ArtifactEncryptionKeyRing keys, byte[] content)
    {
        if (!EncryptedArtifactFormat.TryReadHeader(content, out int chunkSize, out string keyId, out string problem))
        {
            throw new InvalidOperationException(
                $"The encryption key check file '{path}' is damaged: {problem}. Restore it from a backup of the artifacts directory, "
                + "or delete it: the next start then checks the configured keys against the artifacts themselves.");
        }

        if (keys.Find(keyId) is not { } key)
        {
            throw new InvalidOperationException(
                $"The configured Persistence:EncryptionKey (key id {keys.Current!.Id}) is not the key the artifacts in '{directory}' were written with "
                + $"(key id {keyId})" + (keys.Previous.Count > 0 ? $", and neither is any of Persistence:PreviousEncryptionKeys ({keys.Describe()})" : string.Empty)
                + ". Configure the original key; artifacts encrypted with it cannot be read with any other.");
        }

        using var cipher = new EncryptedArtifactFormat.ChunkCipher(key, content, FileName);
        byte[] plaintext = new byte[KnownValue.Length];
        bool opened = content.Length == EncryptedArtifactFormat.EncryptedLength(KnownValue.Length, chunkSize)
            && cipher.TryOpen(0, final: true, content.AsSpan(EncryptedArtifactFormat.HeaderSize), plaintext)
            && plaintext.AsSpan().SequenceEqual(KnownValue);
        if (!opened)
        {
            // Same key id, yet the known value does not decrypt: a damaged file is far likelier than a key id collision.
            throw new InvalidOperationException(
                $"The encryption key check file '{path}' does not decrypt with the configured Persistence:EncryptionKey (key id {key.Id}): "
                + "either the configured encryption key is not the one the artifacts were written with, or the file is damaged.");
        }

        return key;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifacts are still encrypted with the previous key {PreviousKeyId}, not with Persistence:EncryptionKey {KeyId}: "
        + "keep the previous key in Persistence:PreviousEncryptionKeys until the artifact key rotation job reports that it is done")]
    private static partial void LogRotationPending(ILogger logger, string previousKeyId, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact encryption is on: AES-256-GCM with key id {KeyId} ({Outcome} {KeyCheckFile})")]
    private static partial void LogEncryptionOn(ILogger logger, string keyId, string outcome, string keyCheckFile);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The artifacts directory {Directory} holds encrypted artifacts (it has a key check file), "
        + "but Persistence:EncryptionKey is not set: those artifacts cannot be read, and new ones are written in plaintext")]
    private static partial void LogEncryptedButNoKey(ILogger logger, string directory);
}
