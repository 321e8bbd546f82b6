using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Distillation;
using TextClassification.Training.Jobs;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// The word vectors of the source jobs last asked for (<c>word_vectors</c>), kept in memory between jobs: making
/// them runs an encoder or a classifier over each of ~20,000 whole words (seconds to tens of seconds on two cores), and
/// a sweep's trials or a team's next jobs mostly name the same one.
/// </summary>
/// <remarks>
/// A source is a base model (its pooled outputs, <see cref="PretrainedWordVectors.From"/>) or a registered model
/// version, <c>name:version</c> (its logits for each word alone, <see cref="PretrainedWordVectors.FromClassifierLogits"/>:
/// a fine-tuned teacher's knowledge of which intent a word points to). A version's logits over the words go through
/// <see cref="TeacherOutputCache"/> and so are kept in the artifact store as well: a job in a child process of its own
/// reads them back instead of running the classifier again.
/// One set is kept in memory (31 MB for MiniLM), identified by the source and the SHA-256 of its weights (a base
/// model's, or the version's ONNX file), so an uploaded model deleted and uploaded again under its id is read afresh.
/// Jobs asking at once wait for one another rather than computing the same set twice. A base model's pooled outputs
/// over its words are kept in the artifact store too (a <see cref="WordVectorSet"/>), so a job in a child process of
/// its own (the default isolation), or after a restart, reads them back instead of running the encoder again.
/// </remarks>
public sealed class WordVectorCache(BaseModelCatalog catalog, TeacherOutputCache classifierOutputs, IServiceScopeFactory scopes, IArtifactStore artifacts, TimeProvider clock)
{
    /// <summary>Names how a base model's stored outputs were made; part of what identifies them (<see cref="WordVectorSet.SettingsSha256"/>).</summary>
    private const string PooledOutputsRecipe = "pooled output of [CLS] word [SEP], every layer, eval mode";

    private readonly SemaphoreSlim gate = new(1, 1);
    private (string Key, PretrainedWordVectors Vectors)? kept;

    /// <summary>
    /// The word vectors of <paramref name="source"/> (a base model id or a version's name:version), and whether this
    /// call ran the source over the words (false when the set was kept in memory, or a version's logits over the
    /// words were read back from the artifact store).
    /// </summary>
    /// <exception cref="KeyNotFoundException">No base model or version has that name.</exception>
    /// <exception cref="InvalidDataException">Its files are unreadable or do not fit its shape, or the version has no ONNX export.</exception>
    /// <exception cref="IOException">A stored file is missing or damaged in the artifact store.</exception>
    public async Task<(PretrainedWordVectors Vectors, bool Computed)> GetAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ModelReference.TryParse(source, out var reference))
        {
            return await FromVersionAsync(source, reference, cancellationToken);
        }

        var description = await catalog.FindAsync(source, cancellationToken) ?? throw new KeyNotFoundException($"No base model has the id '{source}'.");
        return await GetOrComputeAsync($"{source}\n{description.Sha256}", async () =>
        {
            var encoder = await catalog.LoadAsync(source, cancellationToken);
            var words = PretrainedWordVectors.WholeWords(encoder.Tokenizer.Vocabulary);
            string[] wordList = [.. words.Select(w => w.Word)];
            // Everything besides the weights that decides the outputs: the same weights uploaded with another pooling,
            // or another vocabulary, must not read this set.
            string settingsSha256 = Identity(PooledOutputsRecipe, [JsonSerializer.Serialize(encoder.Config), encoder.Tokenizer.ToJson()]);
            int width = encoder.Config.HiddenSize;
            if (await ReadStoredAsync(description.Sha256, settingsSha256, words.Count, width, cancellationToken) is { } stored)
            {
                return (PretrainedWordVectors.FromPooledWordOutputs(source, wordList, stored, width), false);
            }

            // Every core for a few seconds: a thread of its own rather than a pool thread, as training gets.
            var outputs = await Task.Factory.StartNew(
                () => PretrainedWordVectors.PooledWordOutputs(encoder, words, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            // Stored before the vectors are made of them: that centres and scales the array in place.
            await StoreAsync(description.Sha256, settingsSha256, outputs, words.Count, width, cancellationToken);
            return (PretrainedWordVectors.FromPooledWordOutputs(source, wordList, outputs, width), true);
        }, cancellationToken);
    }

    private async Task<float[]?> ReadStoredAsync(string baseModelSha256, string settingsSha256, int words, int width, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var row = await db.WordVectorSets.AsNoTracking()
            .FirstOrDefaultAsync(w => w.BaseModelSha256 == baseModelSha256 && w.SettingsSha256 == settingsSha256, cancellationToken);
        return row is null ? null : await CachedMatrices.TryReadAsync(artifacts, row.ArtifactKey, row.Sha256, row.SizeBytes, words, width, cancellationToken);
    }

    private Task StoreAsync(string baseModelSha256, string settingsSha256, float[] outputs, int words, int width, CancellationToken cancellationToken) =>
        CachedMatrices.SaveAsync(
            artifacts, scopes, $"word-vectors/{baseModelSha256}/{settingsSha256}.f32", outputs, words, width,
            db => db.WordVectorSets,
            w => w.BaseModelSha256 == baseModelSha256 && w.SettingsSha256 == settingsSha256,
            stored => new WordVectorSet
            {
                BaseModelSha256 = baseModelSha256,
                SettingsSha256 = settingsSha256,
                Words = words,
                Width = width,
                ArtifactKey = stored.Key,
                Sha256 = stored.Sha256,
                SizeBytes = stored.SizeBytes,
                CreatedAt = clock.GetUtcNow(),
            },
            cancellationToken);

    /// <summary>A name and what it was applied to, one per line, hashed: what identifies a computed set.</summary>
    private static string Identity(string name, IEnumerable<string> lines) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name + "\n" + string.Join('\n', lines))));

    private async Task<(PretrainedWordVectors Vectors, bool Computed)> FromVersionAsync(string source, ModelReference reference, CancellationToken cancellationToken)
    {
        Persistence.Entities.ModelVersion version;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            version = await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.ModelName == reference.Name && v.Version == reference.Version, cancellationToken)
                ?? throw new KeyNotFoundException($"No model version {source} is registered.");
        }

        // A version without an ONNX export is refused by the teacher-output cache (InvalidDataException).
        return await GetOrComputeAsync($"{source}\n{version.OnnxSha256}", async () =>
        {
            var words = VersionWords.Value;
            var outputs = await classifierOutputs.GetAsync(version, VersionWordsIdentity.Value, words, null, cancellationToken);
            return (PretrainedWordVectors.FromClassifierLogits(source, words, outputs.Logits, outputs.Labels), !outputs.FromCache);
        }, cancellationToken);
    }

    private async Task<(PretrainedWordVectors Vectors, bool Computed)> GetOrComputeAsync(string key, Func<Task<(PretrainedWordVectors Vectors, bool Computed)>> compute, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (kept is { } last && last.Key == key)
            {
                return (last.Vectors, false);
            }

            var (vectors, computed) = await compute();
            kept = (key, vectors);
            return (vectors, computed);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The words a version's vectors are made for: the whole words of the built-in MiniLM vocabulary, a list of about
    /// 20,000 common English words that does not depend on the version's own tokenizer (an n-gram bag's vocabulary is
    /// its training texts' words, which would leave out exactly the words the vectors are for).
    /// </summary>
    private static readonly Lazy<string[]> VersionWords = new(() =>
        [.. PretrainedWordVectors.WholeWords(BuiltInBaseModels.MiniLm.LoadTokenizer().Vocabulary).Select(w => w.Word)]);

    /// <summary>What identifies <see cref="VersionWords"/> as texts in <see cref="TeacherOutputCache"/>.</summary>
    private static readonly Lazy<string> VersionWordsIdentity = new(() => Identity("word list", VersionWords.Value));
}
