using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Inference.Tokenization;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Jobs;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.BaseModels;

/// <summary>What <c>GET /v1/base-models</c> lists about one encoder a job can start from.</summary>
/// <param name="Id">What a job names in <c>base_model</c>.</param>
/// <param name="Architecture">The <see cref="ArchitectureRegistry"/> name a job from it trains.</param>
/// <param name="Config">The encoder's shape.</param>
/// <param name="Parameters">Encoder parameters (the head comes on top, one row per label).</param>
/// <param name="Sha256">Of the file the weights are read from (model.onnx built in, model.safetensors uploaded).</param>
/// <param name="License">The weights' licence.</param>
/// <param name="Source">Where the weights come from.</param>
/// <param name="BuiltIn">Whether it ships with the service (or was uploaded).</param>
/// <param name="Tokenizer">The WordPiece settings jobs from it tokenize with.</param>
/// <param name="CreatedAt">When it was uploaded; null for a built-in one.</param>
public sealed record BaseModelDescription(
    string Id,
    string Architecture,
    BertConfig Config,
    long Parameters,
    string Sha256,
    string License,
    string Source,
    bool BuiltIn,
    TokenizerSettings Tokenizer,
    DateTimeOffset? CreatedAt = null);

/// <summary>An upload's settings besides the archive.</summary>
/// <param name="Id">The id jobs will name it by (see <see cref="BaseModelCatalog.IsValidId"/>).</param>
/// <param name="License">The weights' licence as the uploader states it.</param>
/// <param name="Source">Where the weights come from (a Hugging Face repository id, a URL, a team).</param>
/// <param name="Pooling">How its states become one vector per text.</param>
public sealed record BaseModelUpload(string Id, string License, string Source, BertPooling Pooling);

/// <summary>
/// The pretrained encoders jobs can start from: the built-in ones (<see cref="BuiltInBaseModels"/>, in the build
/// output) and those uploaded as Hugging Face folders (a <c>base_models</c> row, the weights and vocabulary in the
/// artifact store). It checks and stores uploads, loads an encoder for a run, and refuses to delete one that jobs or
/// model versions depend on.
/// </summary>
public sealed partial class BaseModelCatalog(
    IServiceScopeFactory scopes,
    IArtifactStore artifacts,
    IOptions<BaseModelsOptions> options,
    TimeProvider clock,
    ILogger<BaseModelCatalog> logger)
{
    private readonly ConcurrentDictionary<string, Lazy<string>> builtInHashes = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="id"/> can name an uploaded base model: 1–64 of a–z, 0–9, '.', '_', '-', starting with a letter or digit.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    /// <summary>Every base model a job can start from: the installed built-in ones, then the uploaded ones, each in id order.</summary>
    public async Task<IReadOnlyList<BaseModelDescription>> ListAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var uploaded = await db.BaseModels.AsNoTracking().OrderBy(m => m.Id).ToListAsync(cancellationToken);
        return [.. BuiltInBaseModels.All.Where(m => m.IsInstalled).Select(DescribeBuiltIn), .. uploaded.Select(Describe)];
    }

    /// <summary>The base model <paramref name="id"/>, or null when there is none.</summary>
    public async Task<BaseModelDescription?> FindAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (BuiltInBaseModels.TryGet(id, out var builtIn))
        {
            return builtIn.IsInstalled ? DescribeBuiltIn(builtIn) : null;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var row = await db.BaseModels.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken);
        return row is null ? null : Describe(row);
    }

    /// <summary>
    /// Reads the encoder <paramref name="id"/> for a run: its weights (checked against its shape; an uploaded file is
    /// also checked against its SHA-256) and its WordPiece tokenizer.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No base model has that id.</exception>
    /// <exception cref="InvalidDataException">Its files are unreadable or do not fit its shape.</exception>
    /// <exception cref="IOException">An uploaded file is missing or damaged in the artifact store.</exception>
    public async Task<PretrainedEncoder> LoadAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (BuiltInBaseModels.TryGet(id, out var builtIn))
        {
            return builtIn.Load();
        }

        UploadedBaseModel row;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            row = await db.BaseModels.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken)
                ?? throw new KeyNotFoundException($"No base model has the id '{id}'.");
        }

        var config = JsonSerializer.Deserialize<BertConfig>(row.ConfigJson, TrainingJson.Options)!;
        var settings = JsonSerializer.Deserialize<TokenizerSettings>(row.TokenizerJson, TrainingJson.Options)!;
        byte[] safetensors = new byte[row.WeightsSizeBytes];
        await using (var weights = await artifacts.OpenReadAsync(row.WeightsArtifactKey, row.WeightsSha256, row.WeightsSizeBytes, cancellationToken))
        {
            await weights.ReadExactlyAsync(safetensors, cancellationToken);
        }

        var encoderWeights = HuggingFaceBertFolder.ReadWeights(safetensors);
        var errors = encoderWeights.Check(config);
        if (errors.Count > 0)
        {
            throw new InvalidDataException($"The {id} weights do not fit its shape: {string.Join(" ", errors)}");
        }

        await using var vocabulary = await artifacts.OpenReadAsync(row.VocabularyArtifactKey, row.VocabularySha256, row.VocabularySizeBytes, cancellationToken);
        return new PretrainedEncoder(id, config, TokenizerDefinition.WordPiece(vocabulary, settings), encoderWeights);
    }

    /// <summary>
    /// Checks an uploaded archive of a Hugging Face BERT folder and stores it as base model <c>upload.Id</c>: the
    /// weights and vocabulary go to the artifact store (SHA-256 recorded), the shape and tokenizer settings to a row.
    /// Anything refused stores nothing; the extracted files are removed whatever happens.
    /// </summary>
    /// <param name="archivePath">The uploaded .zip or .tar.gz, already on disk.</param>
    /// <param name="upload">Its id, licence, source and pooling.</param>
    /// <param name="workDirectory">Where to extract it (a folder of its own is made and removed inside).</param>
    /// <param name="cancellationToken">Stops the checks and the storing; nothing is kept.</param>
    /// <exception cref="BaseModelImportException">The upload is refused; its problems name files, fields and tensors.</exception>
    public async Task<BaseModelDescription> ImportAsync(string archivePath, BaseModelUpload upload, string workDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(archivePath);
        ArgumentNullException.ThrowIfNull(upload);
        if (!IsValidId(upload.Id))
        {
            throw new ArgumentException($"'{upload.Id}' is not a valid base model id.", nameof(upload));
        }

        await ThrowIfTakenAsync(upload.Id, cancellationToken);
        string extractTo = Path.Combine(workDirectory, $"base-model-{Guid.NewGuid():N}");
        Directory.CreateDirectory(extractTo);
        var stored = new List<StoredArtifact>();
        try
        {
            // Extraction and the checks are synchronous file work on what may be a gigabyte: off the request thread.
            var (folder, archiveSha256) = await Task.Run(
                () =>
                {
                    var extracted = ModelFolderArchive.Extract(archivePath, extractTo, options.Value);
                    return (HuggingFaceBertFolder.Read(extracted, upload.Pooling), HashFile(archivePath));
                },
                cancellationToken);

            // A fresh folder per upload: two uploads racing for one id never write each other's files.
            string prefix = $"base-models/{upload.Id}/{Guid.NewGuid():N}";
            var weights = await StoreFileAsync($"{prefix}/{HuggingFaceBertFolder.WeightsFile}", folder.WeightsPath, stored, cancellationToken);
            var vocabulary = await StoreFileAsync($"{prefix}/{HuggingFaceBertFolder.VocabularyFile}", folder.VocabularyPath, stored, cancellationToken);
            var row = new UploadedBaseModel
            {
                Id = upload.Id,
                Architecture = ArchitectureRegistry.Bert,
                ConfigJson = JsonSerializer.Serialize(folder.Config, TrainingJson.Options),
                TokenizerJson = JsonSerializer.Serialize(folder.Tokenizer, TrainingJson.Options),
                Parameters = folder.Parameters,
                License = upload.License,
                Source = upload.Source,
                WeightsArtifactKey = weights.Key,
                WeightsSha256 = weights.Sha256,
                WeightsSizeBytes = weights.SizeBytes,
                VocabularyArtifactKey = vocabulary.Key,
                VocabularySha256 = vocabulary.Sha256,
                VocabularySizeBytes = vocabulary.SizeBytes,
                ArchiveSha256 = archiveSha256,
                CreatedAt = clock.GetUtcNow(),
            };

            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
                db.BaseModels.Add(row);
                try
                {
                    await db.SaveChangesAsync(CancellationToken.None);
                }
                catch (DbUpdateException)
                {
                    // Another upload took the id while this one was being checked.
                    await ThrowIfTakenAsync(upload.Id, CancellationToken.None);
                    throw;
                }
            }

            stored.Clear();
            LogImported(logger, row.Id, folder.Config.Layers, folder.Config.HiddenSize, folder.Parameters, row.WeightsSha256);
            return Describe(row);
        }
        finally
        {
            // Whatever was stored before a refusal or failure goes: a refused upload leaves nothing behind.
            foreach (var artifact in stored)
            {
                artifacts.Delete(artifact.Key);
            }

            Directory.Delete(extractTo, recursive: true);
        }
    }

    /// <summary>
    /// Deletes the uploaded base model <paramref name="id"/>, its files and the word-vector outputs computed from it. Refused while a queued or running job
    /// starts from it or takes its word vectors from it, or a registered model version was fine-tuned from it (its lineage, and any job that continues
    /// from it, name the encoder); built-in encoders cannot be deleted.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No base model has that id.</exception>
    /// <exception cref="BaseModelInUseException">It is built in, or jobs or versions depend on it.</exception>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (BuiltInBaseModels.TryGet(id, out _))
        {
            throw new BaseModelInUseException($"{id} is built into the service and cannot be deleted.", []);
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var row = await db.BaseModels.SingleOrDefaultAsync(m => m.Id == id, cancellationToken)
            ?? throw new KeyNotFoundException($"No base model has the id '{id}'.");
        var jobs = await db.FineTuningJobs.AsNoTracking().ThatRead(id)
            .OrderBy(j => j.Id).Select(j => j.Id).Take(20).ToListAsync(cancellationToken);
        var versions = await db.ModelVersions.AsNoTracking()
            .Join(db.FineTuningJobs.Where(j => j.BaseModel == id), v => v.JobId, j => j.Id, (v, _) => new { v.ModelName, v.Version })
            .OrderBy(v => v.ModelName).ThenBy(v => v.Version).Take(20).ToListAsync(cancellationToken);
        if (jobs.Count > 0 || versions.Count > 0)
        {
            var dependents = jobs.Concat(versions.Select(v => $"{v.ModelName}:{v.Version}")).ToList();
            string why = jobs.Count > 0
                ? $"{jobs.Count} queued or running job(s) start from {id} or take their word vectors from it ({string.Join(", ", jobs)})"
                : $"model version(s) {string.Join(", ", versions.Select(v => $"{v.ModelName}:{v.Version}"))} were fine-tuned from {id}; delete them first";
            throw new BaseModelInUseException($"{id} cannot be deleted: {why}.", dependents);
        }

        // What was computed from its weights goes with it (unless another upload has the very same weights).
        var derived = await db.BaseModels.AnyAsync(m => m.Id != id && m.WeightsSha256 == row.WeightsSha256, cancellationToken)
            ? []
            : await db.WordVectorSets.Where(w => w.BaseModelSha256 == row.WeightsSha256).ToListAsync(cancellationToken);
        db.WordVectorSets.RemoveRange(derived);
        db.BaseModels.Remove(row);
        await db.SaveChangesAsync(cancellationToken);
        // The rows are gone first: a crash before the files go leaves unreferenced files, never a row without them.
        artifacts.Delete(row.WeightsArtifactKey);
        artifacts.Delete(row.VocabularyArtifactKey);
        foreach (var set in derived)
        {
            artifacts.Delete(set.ArtifactKey);
        }
    }

    private async Task ThrowIfTakenAsync(string id, CancellationToken cancellationToken)
    {
        if (BuiltInBaseModels.TryGet(id, out _))
        {
            throw Taken(id);
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        if (await db.BaseModels.AsNoTracking().AnyAsync(m => m.Id == id, cancellationToken))
        {
            throw Taken(id);
        }
    }

    private static BaseModelImportException Taken(string id) => new(BaseModelRefusal.IdTaken, "id",
        BuiltInBaseModels.TryGet(id, out _)
            ? $"'{id}' is a built-in base model; choose another id."
            : $"A base model with the id '{id}' exists; delete it first or choose another id.");

    private async Task<StoredArtifact> StoreFileAsync(string key, string path, List<StoredArtifact> stored, CancellationToken cancellationToken)
    {
        await using var write = artifacts.BeginWrite(key);
        await using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            await source.CopyToAsync(write, cancellationToken);
        }

        var artifact = await write.CommitAsync(cancellationToken);
        stored.Add(artifact);
        return artifact;
    }

    private BaseModelDescription DescribeBuiltIn(BuiltInBaseModel model) => new(
        model.Id,
        ArchitectureRegistry.Bert,
        model.Config,
        EncoderWeights.ExpectedParameterCount(model.Config),
        builtInHashes.GetOrAdd(model.ModelPath, path => new Lazy<string>(() => HashFile(path))).Value,
        model.License,
        model.Source,
        BuiltIn: true,
        BuiltInBaseModels.WordPieceSettings(model.LowerCase, model.Config.MaxPositions));

    private static BaseModelDescription Describe(UploadedBaseModel row) => new(
        row.Id,
        row.Architecture,
        JsonSerializer.Deserialize<BertConfig>(row.ConfigJson, TrainingJson.Options)!,
        row.Parameters,
        row.WeightsSha256,
        row.License,
        row.Source,
        BuiltIn: false,
        JsonSerializer.Deserialize<TokenizerSettings>(row.TokenizerJson, TrainingJson.Options)!,
        row.CreatedAt);

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "Base model {Id} uploaded: {Layers} layers of width {Hidden}, {Parameters} parameters, weights {Sha256}.")]
    private static partial void LogImported(ILogger logger, string id, int layers, int hidden, long parameters, string sha256);
}
