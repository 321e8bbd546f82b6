namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// The artifact encryption keys a process holds: <see cref="Current"/> encrypts every file written, and it and
/// <see cref="Previous"/> read files by the key id in their header. Previous keys exist for rotation: files written
/// under them stay readable until <see cref="ArtifactKeyRotation"/> has re-encrypted them under the current key.
/// </summary>
public sealed class ArtifactEncryptionKeyRing
{
    /// <summary>No keys: artifacts are written in plaintext and encrypted ones cannot be read.</summary>
    public static readonly ArtifactEncryptionKeyRing None = new(null, []);

    /// <param name="current">The key new files are encrypted with; null writes plaintext.</param>
    /// <param name="previous">Keys that only read (older keys during a rotation); a repeat of <paramref name="current"/> is dropped.</param>
    public ArtifactEncryptionKeyRing(ArtifactEncryptionKey? current, IEnumerable<ArtifactEncryptionKey> previous)
    {
        Current = current;
        Previous = previous.Where(k => k.Id != current?.Id).DistinctBy(k => k.Id).ToList();
    }

    /// <summary>The key new files are encrypted with; null when encryption is off.</summary>
    public ArtifactEncryptionKey? Current { get; }

    /// <summary>Read-only keys, in configuration order.</summary>
    public IReadOnlyList<ArtifactEncryptionKey> Previous { get; }

    /// <summary>Every key, the current one first.</summary>
    public IEnumerable<ArtifactEncryptionKey> All => Current is null ? Previous : [Current, .. Previous];

    /// <summary>The key with id <paramref name="keyId"/>, or null when this ring does not hold it.</summary>
    public ArtifactEncryptionKey? Find(string keyId) => All.FirstOrDefault(k => k.Id == keyId);

    /// <summary>The ids of every key, for messages: "a1b2… (current), c3d4… (previous)".</summary>
    public string Describe() => Current is null && Previous.Count == 0
        ? "no key"
        : string.Join(", ", All.Select(k => k == Current ? $"{k.Id} (Persistence:EncryptionKey)" : $"{k.Id} (Persistence:PreviousEncryptionKeys)"));
}
