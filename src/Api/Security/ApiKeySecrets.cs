using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TextClassification.Api.Security;

/// <summary>
/// Makes and recognises API key secrets: <c>tcs_</c> and 43 base64url characters of 32 random bytes (256 bits).
/// </summary>
/// <remarks>
/// Only <see cref="Hash(string)"/> of a secret is stored. SHA-256 is the right hash here, not a slow KDF such as PBKDF2 or
/// Argon2: a slow KDF protects low-entropy passwords against guessing, but a 256-bit random secret cannot be guessed
/// however fast the hash, and a slow KDF would add its whole cost to every request. An unsalted fast hash also lets
/// the key be found by an index lookup, which a salted one would not.
/// </remarks>
internal static class ApiKeySecrets
{
    public const string Prefix = "tcs_";

    /// <summary>How much of a secret is kept in clear for recognition: <c>tcs_</c> and 8 characters (48 bits).</summary>
    public const int VisiblePrefixLength = 12;

    public static string NewSecret()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return Prefix + Base64Url.EncodeToString(random);
    }

    public const int HashBytes = SHA256.HashSizeInBytes;

    public static byte[] Hash(string secret)
    {
        var hash = new byte[HashBytes];
        Hash(secret, hash);
        return hash;
    }

    /// <summary>Writes the SHA-256 of the UTF-8 <paramref name="secret"/> to <paramref name="hash"/>, without allocating for a secret of a request (at most 256 characters).</summary>
    public static void Hash(string secret, Span<byte> hash)
    {
        int most = Encoding.UTF8.GetMaxByteCount(secret.Length);
        Span<byte> utf8 = most <= 1024 ? stackalloc byte[1024] : new byte[most];
        int length = Encoding.UTF8.GetBytes(secret, utf8);
        SHA256.HashData(utf8[..length], hash);
    }

    public static string VisiblePrefix(string secret) => secret[..Math.Min(VisiblePrefixLength, secret.Length / 3)];
}
