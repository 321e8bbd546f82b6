using System.Security.Cryptography;

namespace TextClassification.Persistence;

/// <summary>
/// Public identifiers such as <c>ds_01jd3k...</c>: a type prefix, then 26 lowercase Crockford base32 characters
/// encoding a 48-bit millisecond timestamp followed by 80 random bits (the ULID layout).
/// </summary>
/// <remarks>
/// Because the timestamp leads, ordinal order of ids is creation order, which is what cursor paging sorts by:
/// "newest first, after=&lt;id&gt;" becomes <c>WHERE id &lt; @after ORDER BY id DESC</c> on any database.
/// Ids made in the same millisecond by one process keep increasing, so a burst of creations still pages in order.
/// </remarks>
public static class ResourceId
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
    private static readonly Lock Gate = new();
    private static long _lastMilliseconds;
    private static readonly byte[] LastRandom = new byte[10];

    public const string DatasetPrefix = "ds_";
    public const string FineTuningJobPrefix = "ftjob_";
    public const string SweepPrefix = "sweep_";

    /// <summary>Makes a new id with the given prefix, later in ordinal order than any id this process made before.</summary>
    public static string New(string prefix, TimeProvider? clock = null)
    {
        long milliseconds = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        Span<byte> bytes = stackalloc byte[16];
        lock (Gate)
        {
            if (milliseconds <= _lastMilliseconds)
            {
                milliseconds = _lastMilliseconds;
                Increment(LastRandom);
            }
            else
            {
                _lastMilliseconds = milliseconds;
                RandomNumberGenerator.Fill(LastRandom);
                LastRandom[0] &= 0x7f; // head-room so that increments within one millisecond never wrap
            }

            for (int i = 0; i < 6; i++)
            {
                bytes[i] = (byte)(milliseconds >> (8 * (5 - i)));
            }

            LastRandom.CopyTo(bytes[6..]);
        }

        return prefix + Encode(bytes);
    }

    /// <summary>True when <paramref name="value"/> has the shape of an id with <paramref name="prefix"/>.</summary>
    public static bool IsWellFormed(string? value, string prefix) =>
        value is not null
        && value.Length == prefix.Length + 26
        && value.StartsWith(prefix, StringComparison.Ordinal)
        && value.AsSpan(prefix.Length).IndexOfAnyExcept(Alphabet) < 0;

    private static void Increment(byte[] value)
    {
        for (int i = value.Length - 1; i >= 0; i--)
        {
            if (++value[i] != 0)
            {
                return;
            }
        }
    }

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        // 128 bits as 26 base32 digits, most significant first (the top two bits of the first digit are zero).
        UInt128 value = 0;
        foreach (byte b in bytes)
        {
            value = (value << 8) | b;
        }

        Span<char> chars = stackalloc char[26];
        for (int i = 25; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }
}
