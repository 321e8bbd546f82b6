namespace TextClassification.Persistence.Entities;

/// <summary>
/// A base model's pooled outputs for each whole word of its vocabulary, the raw material of the n-gram bag's word
/// vectors (<c>word_vectors</c>): computed once (seconds to tens of seconds of the encoder) and kept for the next job,
/// which with the default isolation trains in a process of its own. Identified by the SHA-256 of the base model's
/// weights and of everything else that decides the outputs (the recipe, the encoder's configuration, its vocabulary),
/// so changed weights, another pooling, a changed vocabulary or a changed recipe never read another's set. The floats
/// live in the artifact store (encrypted with everything else when artifacts are).
/// </summary>
public sealed class WordVectorSet
{
    public long Id { get; init; }

    public required string BaseModelSha256 { get; init; }

    /// <summary>Of the recipe's name, the encoder's configuration and its vocabulary in order.</summary>
    public required string SettingsSha256 { get; init; }

    /// <summary>Words with an output (rows).</summary>
    public int Words { get; init; }

    /// <summary>Floats per word: the encoder's hidden size.</summary>
    public int Width { get; init; }

    public required string ArtifactKey { get; init; }

    public required string Sha256 { get; init; }

    public long SizeBytes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
