using System.Collections.Concurrent;
using System.Security.Cryptography;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Models;

namespace TextClassification.Training.BaseModels;

/// <summary>What <c>GET /v1/base-models</c> lists about one encoder a job can start from.</summary>
/// <param name="Id">What a job names in <c>base_model</c>.</param>
/// <param name="Architecture">The <see cref="ArchitectureRegistry"/> name a job from it trains.</param>
/// <param name="Config">The encoder's shape.</param>
/// <param name="Parameters">Encoder parameters (the head comes on top, one row per label).</param>
/// <param name="Sha256">Of the file the weights are read from.</param>
/// <param name="License">The weights' licence.</param>
/// <param name="Source">Where the weights come from.</param>
/// <param name="BuiltIn">Whether it ships with the service (or was uploaded).</param>
public sealed record BaseModelDescription(
    string Id,
    string Architecture,
    BertConfig Config,
    long Parameters,
    string Sha256,
    string License,
    string Source,
    bool BuiltIn);

/// <summary>
/// The pretrained encoders jobs can start from, and the loading of one for a run. Built-in encoders live in the build
/// output (<see cref="BuiltInBaseModels"/>); their files are hashed once per process.
/// </summary>
public sealed class BaseModelCatalog
{
    private readonly ConcurrentDictionary<string, Lazy<string>> hashes = new(StringComparer.Ordinal);

    /// <summary>Every built-in encoder whose files are present, in id order.</summary>
    public IReadOnlyList<BaseModelDescription> List() =>
        BuiltInBaseModels.All.Where(IsInstalled).Select(Describe).ToList();

    public bool TryDescribe(string id, out BaseModelDescription description)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (BuiltInBaseModels.TryGet(id, out var builtIn) && IsInstalled(builtIn))
        {
            description = Describe(builtIn);
            return true;
        }

        description = null!;
        return false;
    }

    /// <summary>
    /// Reads the encoder <paramref name="id"/> for a run: its weights (checked against its shape) and its WordPiece
    /// tokenizer.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No base model has that id.</exception>
    /// <exception cref="InvalidDataException">Its files are unreadable or do not fit its shape.</exception>
    public static PretrainedEncoder Load(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!BuiltInBaseModels.TryGet(id, out var builtIn))
        {
            throw new KeyNotFoundException($"No base model has the id '{id}'.");
        }

        var weights = OnnxEncoderImport.Read(builtIn.ModelPath);
        var errors = weights.Check(builtIn.Config);
        if (errors.Count > 0)
        {
            throw new InvalidDataException($"The {id} weights do not fit its shape: {string.Join(" ", errors)}");
        }

        using var vocabulary = File.OpenRead(builtIn.VocabularyPath);
        var tokenizer = TokenizerDefinition.WordPiece(vocabulary, BuiltInBaseModels.WordPieceSettings(builtIn.LowerCase, builtIn.Config.MaxPositions));
        return new PretrainedEncoder(id, builtIn.Config, tokenizer, weights);
    }

    /// <summary>Whether the build put the encoder's files beside the service (a build that skipped the package has none).</summary>
    private static bool IsInstalled(BuiltInBaseModel model) => File.Exists(model.ModelPath) && File.Exists(model.VocabularyPath);

    private BaseModelDescription Describe(BuiltInBaseModel model) => new(
        model.Id,
        ArchitectureRegistry.Bert,
        model.Config,
        EncoderWeights.ExpectedShapes(model.Config).Values.Sum(shape => shape.Aggregate(1L, (a, b) => a * b)),
        hashes.GetOrAdd(model.ModelPath, path => new Lazy<string>(() => HashFile(path))).Value,
        model.License,
        model.Source,
        BuiltIn: true);

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
