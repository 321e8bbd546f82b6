using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Security;

/// <summary>
/// Keys this process has recently found valid, by the hash of their secret, so that a prediction does not pay for a
/// database lookup (a DbContext, a connection and a query: about a third of a millisecond, and most of the server's
/// time for a small request) on every call.
/// </summary>
/// <remarks>
/// An entry lives at most <see cref="SecurityOptions.KeyCacheMilliseconds"/>. Revoking a key through this process
/// drops its entries at once, so here revocation takes effect on the next request; another process running the API
/// sees it within that time. Expiry is checked on every request against the cached expiry time. Only valid keys are
/// cached: an unknown or revoked key is looked up every time (and rate-limited per address).
/// </remarks>
internal sealed class ApiKeyCache(IOptions<SecurityOptions> options, TimeProvider clock)
{
    /// <summary>Beyond this many entries the cache starts over, so a flood of distinct valid keys cannot grow it without bound.</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly TimeSpan lifetime = TimeSpan.FromMilliseconds(options.Value.KeyCacheMilliseconds);

    /// <summary>A valid key as the handler needs it.</summary>
    public sealed record Entry(string KeyId, ApiKeyScopes Scopes, DateTimeOffset? ExpiresAt, DateTimeOffset CachedUntil);

    public bool Enabled => lifetime > TimeSpan.Zero;

    public bool TryGet(string secretHash, out Entry entry)
    {
        if (entries.TryGetValue(secretHash, out entry!) && entry.CachedUntil > clock.GetUtcNow())
        {
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>Remembers a key just found valid (when caching is on) and returns its entry.</summary>
    public Entry Add(string secretHash, string keyId, ApiKeyScopes scopes, DateTimeOffset? expiresAt)
    {
        var entry = new Entry(keyId, scopes, expiresAt, clock.GetUtcNow() + lifetime);
        if (!Enabled)
        {
            return entry;
        }

        if (entries.Count >= MaxEntries)
        {
            entries.Clear();
        }

        entries[secretHash] = entry;
        return entry;
    }

    /// <summary>Forgets every entry of the key: it was just revoked.</summary>
    public void Evict(string keyId)
    {
        foreach (var (hash, entry) in entries)
        {
            if (entry.KeyId == keyId)
            {
                entries.TryRemove(hash, out _);
            }
        }
    }
}
