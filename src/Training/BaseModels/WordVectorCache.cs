namespace TextClassification.Training.BaseModels;

/// <summary>
/// The word vectors of the base model jobs last asked for (<c>word_vectors</c>), kept in memory between jobs: making
/// them reads the encoder and runs it over each of its ~20,000 whole words (about 15 s on two cores), and a sweep's
/// trials or a team's next jobs mostly name the same one.
/// </summary>
/// <remarks>
/// One set is kept (31 MB for MiniLM), identified by the base model's id and the SHA-256 of its weights, so an
/// uploaded model deleted and uploaded again under its id is read afresh. Jobs asking at once wait for one another
/// rather than computing the same set twice. The cache is the process's: with the default isolation each job trains in
/// a child process of its own, which computes the set again (a copy in the artifact store would spare that).
/// </remarks>
public sealed class WordVectorCache(BaseModelCatalog catalog)
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private (string Key, PretrainedWordVectors Vectors)? kept;

    /// <summary>The word vectors of base model <paramref name="id"/>, and whether this call computed them.</summary>
    /// <exception cref="KeyNotFoundException">No base model has that id.</exception>
    /// <exception cref="InvalidDataException">Its files are unreadable or do not fit its shape.</exception>
    /// <exception cref="IOException">An uploaded file is missing or damaged in the artifact store.</exception>
    public async Task<(PretrainedWordVectors Vectors, bool Computed)> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var description = await catalog.FindAsync(id, cancellationToken) ?? throw new KeyNotFoundException($"No base model has the id '{id}'.");
        string key = $"{id}\n{description.Sha256}";
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (kept is { } last && last.Key == key)
            {
                return (last.Vectors, false);
            }

            var encoder = await catalog.LoadAsync(id, cancellationToken);
            // Every core for a few seconds: a thread of its own rather than a pool thread, as training gets.
            var vectors = await Task.Factory.StartNew(
                () => PretrainedWordVectors.From(encoder, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            kept = (key, vectors);
            return (vectors, true);
        }
        finally
        {
            gate.Release();
        }
    }
}
