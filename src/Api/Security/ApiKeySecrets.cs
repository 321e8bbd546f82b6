using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TextClassification.Api.Security;

/// <summary>
/// Makes and recognises API key secrets: <c>tcs_</c> and 43 base64url characters of 32 random bytes (256 bits).
/// </summary>
/// <remarks>
/// Only <see cref="Hash"/> of a secret is stored. SHA-256 is the right hash here, not a slow KDF such as PBKDF2 or
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

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static string VisiblePrefix(string secret) => secret[..Math.Min(VisiblePrefixLength, secret.Length / 3)];
}
