using System.Security.Cryptography;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// The AES-256 key that artifacts are encrypted with (<see cref="PersistenceOptions.EncryptionKey"/>). Its bytes leave
/// this type only into a cipher; what may be shown in logs, errors and file headers is <see cref="Id"/>, a fingerprint
/// from which the key cannot be recovered.
/// </summary>
public sealed class ArtifactEncryptionKey
{
    /// <summary>AES-256: 32 bytes.</summary>
    public const int SizeInBytes = 32;

    /// <summary>How to make a key; repeated in every message about a malformed one.</summary>
    public const string HowToGenerate = "generate one with `openssl rand -base64 32`";

    private readonly byte[] _bytes;

    private ArtifactEncryptionKey(byte[] bytes)
    {
        _bytes = bytes;
        // A keyed hash of a fixed label, so the fingerprint says nothing about the key beyond "same or not".
        IdBytes = HMACSHA256.HashData(bytes, "TextClassification artifact encryption key id"u8)[..EncryptedArtifactFormat.KeyIdSize];
        Id = Convert.ToHexStringLower(IdBytes);
    }

    /// <summary>A fingerprint of the key (16 hex digits), safe to log; every encrypted file's header carries it.</summary>
    public string Id { get; }

    internal byte[] IdBytes { get; }

    /// <summary>Reads a key from base64 (of exactly <see cref="SizeInBytes"/> bytes).</summary>
    /// <exception cref="FormatException">The text is not base64 of 32 bytes; the message never repeats the text.</exception>
    public static ArtifactEncryptionKey Parse(string base64) =>
        TryParse(base64, out var key)
            ? key
            : throw new FormatException($"An artifact encryption key must be {SizeInBytes} bytes in base64; {HowToGenerate}.");

    /// <summary>True when <paramref name="base64"/> is base64 of exactly <see cref="SizeInBytes"/> bytes.</summary>
    public static bool TryParse(string? base64, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ArtifactEncryptionKey? key)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(base64))
        {
            return false;
        }

        // One byte of room: a longer key fails to decode instead of being silently cut to 32 bytes.
        Span<byte> decoded = stackalloc byte[SizeInBytes + 1];
        try
        {
            if (!Convert.TryFromBase64String(base64.Trim(), decoded, out int written) || written != SizeInBytes)
            {
                return false;
            }

            key = new ArtifactEncryptionKey(decoded[..SizeInBytes].ToArray());
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
        }
    }

    /// <summary>A new AES-GCM instance over this key; AesGcm is not thread-safe, so each stream takes its own.</summary>
    internal AesGcm CreateCipher() => new(_bytes, EncryptedArtifactFormat.TagSize);

    /// <summary>Never the key itself, so that logging this object by mistake reveals nothing.</summary>
    public override string ToString() => $"artifact encryption key {Id}";
}
