using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace TextClassification.Api.Security;

/// <summary>
/// Keys this process has recently found valid, by the SHA-256 of their secret, so that a prediction does not pay for a
/// database lookup (a DbContext, a connection and a query: about a third of a millisecond, and most of the server's
/// time for a small request) on every call.
/// </summary>
/// <remarks>
/// An entry lives at most <see cref="SecurityOptions.KeyCacheMilliseconds"/>. Revoking a key or changing its rate
/// limit through this process drops its entries at once, so here the change takes effect on the next request;
/// another process running the API sees it within that time. Expiry is checked on every request against the cached
/// expiry time. Only valid keys are cached: an unknown or revoked key is looked up every time (and rate-limited per
/// address). Entries are keyed by the 32 hash bytes as four integers, so a lookup allocates nothing.
/// </remarks>
internal sealed class ApiKeyCache(IOptions<SecurityOptions> options, TimeProvider clock)
{
    /// <summary>Beyond this many entries the cache starts over, so a flood of distinct valid keys cannot grow it without bound.</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<SecretHash, Entry> entries = new();
    private readonly long lifetimeTicks = TimeSpan.FromMilliseconds(options.Value.KeyCacheMilliseconds).Ticks;

    /// <summary>A SHA-256 as a value that compares and hashes without allocating.</summary>
    public readonly record struct SecretHash(ulong A, ulong B, ulong C, ulong D)
    {
        public static SecretHash From(ReadOnlySpan<byte> sha256)
        {
            var words = MemoryMarshal.Cast<byte, ulong>(sha256);
            return new SecretHash(words[0], words[1], words[2], words[3]);
        }
    }

    private sealed record Entry(AuthenticatedApiKey Key, long CachedUntilTicks);

    public bool Enabled => lifetimeTicks > 0;

    public bool TryGet(SecretHash hash, out AuthenticatedApiKey key)
    {
        if (entries.TryGetValue(hash, out var entry) && entry.CachedUntilTicks > clock.GetUtcNow().UtcTicks)
        {
            key = entry.Key;
            return true;
        }

        key = null!;
        return false;
    }

    /// <summary>Remembers a key just found valid, when caching is on.</summary>
    public void Add(SecretHash hash, AuthenticatedApiKey key)
    {
        if (!Enabled)
        {
            return;
        }

        if (entries.Count >= MaxEntries)
        {
            entries.Clear();
        }

        entries[hash] = new Entry(key, clock.GetUtcNow().UtcTicks + lifetimeTicks);
    }

    /// <summary>Forgets every entry of the key: it was just revoked or its rate limit changed.</summary>
    public void Evict(string keyId)
    {
        foreach (var (hash, entry) in entries)
        {
            if (entry.Key.KeyId == keyId)
            {
                entries.TryRemove(hash, out _);
            }
        }
    }
}
