using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Re-encrypts every artifact still under a <see cref="PersistenceOptions.PreviousEncryptionKeys">previous key</see>
/// with <see cref="PersistenceOptions.EncryptionKey"/>, one file at a time and atomically (a complete new file
/// replaces the old one by rename), then reseals the key check file with the new key: from then on the previous
/// keys can be removed from the configuration. Re-entrant: a run that stops half-way leaves every file readable
/// (each is under the old key or the new one) and the next run carries on. Readers are not disturbed: one that
/// opened a file before it was replaced keeps reading the old file through its open handle.
/// </summary>
public sealed partial class ArtifactKeyRotation(IArtifactStore store, IOptions<PersistenceOptions> options, ILogger<ArtifactKeyRotation> logger)
{
    /// <summary>
    /// Whether a run has work to do: previous keys are configured, or the key check file is still sealed with another
    /// key than the current one (the last run did not complete).
    /// </summary>
    public bool IsPending()
    {
        var keys = options.Value.ResolveEncryptionKeys();
        return keys.Current is not null
            && (keys.Previous.Count > 0 || ArtifactEncryptionKeyCheck.SealingKeyId(options.Value.ResolvedArtifactsDirectory) is { } sealedWith && sealedWith != keys.Current.Id);
    }

    /// <summary>Walks the store once; see the class summary.</summary>
    /// <returns>What was re-encrypted and what could not be; <see cref="ArtifactKeyRotationReport.Complete"/> says whether the previous keys may go.</returns>
    public async Task<ArtifactKeyRotationReport> RunAsync(CancellationToken cancellationToken)
    {
        var keys = options.Value.ResolveEncryptionKeys();
        if (keys.Current is not { } current)
        {
            return new ArtifactKeyRotationReport(0, 0, 0, 0, [], Complete: false);
        }

        int reencrypted = 0, alreadyCurrent = 0, plaintext = 0;
        long bytes = 0;
        var failed = new List<string>();
        await foreach (var file in store.ListAsync(cancellationToken))
        {
            if (file.IsPartial)
            {
                continue;
            }

            if (file.EncryptionKeyId is null)
            {
                plaintext++;
            }
            else if (file.EncryptionKeyId == current.Id)
            {
                alreadyCurrent++;
            }
            else
            {
                try
                {
                    if (await store.ReencryptAsync(file.Key, cancellationToken))
                    {
                        reencrypted++;
                        bytes += file.SizeBytes;
                        LogReencrypted(logger, file.Key, file.EncryptionKeyId, current.Id);
                    }
                }
                catch (Exception e) when (e is ArtifactIntegrityException or ArtifactNotFoundException)
                {
                    failed.Add($"{file.Key}: {e.Message}");
                    LogFailed(logger, file.Key, e.Message);
                }
            }
        }

        string directory = options.Value.ResolvedArtifactsDirectory;
        if (failed.Count == 0 && ArtifactEncryptionKeyCheck.SealingKeyId(directory) != current.Id)
        {
            await ArtifactEncryptionKeyCheck.ResealAsync(directory, current, cancellationToken);
        }

        var report = new ArtifactKeyRotationReport(reencrypted, bytes, alreadyCurrent, plaintext, failed, Complete: failed.Count == 0);
        if (report.Complete)
        {
            LogComplete(logger, reencrypted, bytes, alreadyCurrent, current.Id, keys.Previous.Count);
        }
        else
        {
            LogIncomplete(logger, reencrypted, failed.Count);
        }

        return report;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-encrypted artifact {Key} from key {OldKeyId} to key {KeyId}")]
    private static partial void LogReencrypted(ILogger logger, string key, string oldKeyId, string keyId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not re-encrypt artifact {Key}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact key rotation complete: {Reencrypted} file(s) ({Bytes} bytes) re-encrypted, {AlreadyCurrent} already under key {KeyId}; "
        + "no artifact needs the {PreviousCount} previous key(s) any more, so Persistence:PreviousEncryptionKeys can be emptied")]
    private static partial void LogComplete(ILogger logger, int reencrypted, long bytes, int alreadyCurrent, string keyId, int previousCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact key rotation incomplete: {Reencrypted} file(s) re-encrypted, {Failed} failed (logged above); "
        + "keep Persistence:PreviousEncryptionKeys until a run completes")]
    private static partial void LogIncomplete(ILogger logger, int reencrypted, int failed);
}

/// <summary>What one <see cref="ArtifactKeyRotation.RunAsync"/> did.</summary>
/// <param name="Reencrypted">Files rewritten under the current key.</param>
/// <param name="ReencryptedBytes">Their size on disk.</param>
/// <param name="AlreadyCurrent">Files that were already under the current key.</param>
/// <param name="Plaintext">Files written before encryption was turned on (left as they are).</param>
/// <param name="Failed">Files that could not be re-encrypted, each with the reason.</param>
/// <param name="Complete">No file is left under a previous key and the key check file is sealed with the current one.</param>
public sealed record ArtifactKeyRotationReport(int Reencrypted, long ReencryptedBytes, int AlreadyCurrent, int Plaintext, IReadOnlyList<string> Failed, bool Complete);
