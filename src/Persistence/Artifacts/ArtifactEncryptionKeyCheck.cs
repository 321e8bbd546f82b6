using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Makes a wrong <see cref="PersistenceOptions.EncryptionKey"/> a start-up failure instead of a stream of unreadable
/// artifacts. The first start with encryption leaves a small key check file in the artifacts directory: a known value
/// encrypted with the key. Every later start decrypts it, and stops the host when the configured key is not the one
/// that made it. Registered before the migrations, so it runs before anything else.
/// </summary>
internal sealed partial class ArtifactEncryptionKeyCheck(IOptions<PersistenceOptions> options, ILogger<ArtifactEncryptionKeyCheck> logger) : IHostedService
{
    /// <summary>Upper case, which no artifact key may contain, so it cannot collide with an artifact.</summary>
    public const string FileName = "ENCRYPTION-KEY-CHECK";

    private static ReadOnlySpan<byte> KnownValue => "TextClassification artifact encryption key check, format 1"u8;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string directory = options.Value.ResolvedArtifactsDirectory;
        string path = Path.Combine(directory, FileName);
        var key = options.Value.ResolveEncryptionKey();
        if (key is null)
        {
            if (File.Exists(path))
            {
                LogEncryptedButNoKey(logger, directory);
            }

            return;
        }

        bool created = await EnsureMatchesAsync(directory, key, cancellationToken);
        LogEncryptionOn(logger, key.Id, created ? "created" : "verified", path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Checks <paramref name="key"/> against the directory's key check file, creating the file when there is none.
    /// </summary>
    /// <returns>True when the file was created (the first start with encryption).</returns>
    /// <exception cref="InvalidOperationException">The key is not the one the file was made with, or the file is damaged.</exception>
    internal static async Task<bool> EnsureMatchesAsync(string directory, ArtifactEncryptionKey key, CancellationToken cancellationToken)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
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
                // No overwrite: when two processes start at once, the second finds the first one's file and checks it.
                File.Move(temporary, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
            }
        }

        Verify(path, directory, key, await File.ReadAllBytesAsync(path, cancellationToken));
        return false;
    }

    private static void Verify(string path, string directory, ArtifactEncryptionKey key, byte[] content)
    {
        if (!EncryptedArtifactFormat.TryReadHeader(content, out int chunkSize, out string keyId, out string problem))
        {
            throw new InvalidOperationException(
                $"The encryption key check file '{path}' is damaged: {problem}. Restore it from a backup of the artifacts directory.");
        }

        if (keyId != key.Id)
        {
            throw new InvalidOperationException(
                $"The configured Persistence:EncryptionKey (key id {key.Id}) is not the key the artifacts in '{directory}' were written with "
                + $"(key id {keyId}). Configure the original key; artifacts encrypted with it cannot be read with any other.");
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
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact encryption is on: AES-256-GCM with key id {KeyId} ({Outcome} {KeyCheckFile})")]
    private static partial void LogEncryptionOn(ILogger logger, string keyId, string outcome, string keyCheckFile);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The artifacts directory {Directory} holds encrypted artifacts (it has a key check file), "
        + "but Persistence:EncryptionKey is not set: those artifacts cannot be read, and new ones are written in plaintext")]
    private static partial void LogEncryptedButNoKey(ILogger logger, string directory);
}
