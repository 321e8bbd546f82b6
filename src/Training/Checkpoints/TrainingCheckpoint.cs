using System.IO.Compression;
using System.Text.Json;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Checkpoints;

/// <summary>
/// A training run frozen at an epoch boundary: everything needed to resume it exactly, to use its network as the
/// base of another run, or to serve and export it. Immutable; owns its bytes.
/// </summary>
/// <remarks>
/// <para>No random-number state is stored because none is carried between epochs: epoch <c>e</c> reseeds torch with
/// <c>seed + e</c> and shuffles with a generator derived from <c>(seed, e)</c>, so resuming at the boundary replays
/// exactly what an uninterrupted run would have done.</para>
/// <para>Stream layout (<see cref="WriteTo"/>): a zip archive with <c>checkpoint.json</c> (everything but the
/// tensors, snake_case), <c>tokenizer.json</c> (<see cref="TokenizerDefinition"/>), <c>model.safetensors</c> (the
/// current weights), and when present <c>best.safetensors</c> and <c>optimizer.bin</c> (TorchSharp's AdamW
/// <c>save_state_dict</c> format: per parameter its step count and both moment tensors).</para>
/// </remarks>
public sealed record TrainingCheckpoint
{
    /// <summary>The layout version written; readers refuse others.</summary>
    public const int CurrentFormat = 1;

    private const string ManifestEntry = "checkpoint.json";
    private const string TokenizerEntry = "tokenizer.json";
    private const string WeightsEntry = "model.safetensors";
    private const string BestWeightsEntry = "best.safetensors";
    private const string OptimizerEntry = "optimizer.bin";

    /// <summary>The <see cref="ArchitectureRegistry"/> name.</summary>
    public required string Architecture { get; init; }

    public required ModelConfig ModelConfig { get; init; }

    /// <summary>The resolved hyperparameters of the run.</summary>
    public required Hyperparameters Hyperparameters { get; init; }

    public required TokenizerDefinition Tokenizer { get; init; }

    /// <summary>The model's output labels, in logit order (the out-of-scope label is never among them).</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>The label that marks out-of-scope rows in the data, if the run had one.</summary>
    public string? OutOfScopeLabel { get; init; }

    /// <summary>
    /// Below this top probability a prediction is out of scope. Set on the final model of a run with an out-of-scope
    /// label; null on per-epoch checkpoints.
    /// </summary>
    public double? OutOfScopeThreshold { get; init; }

    /// <summary>Epochs finished; resuming starts the epoch with this 0-based index (the data position).</summary>
    public required int EpochsCompleted { get; init; }

    /// <summary>Optimizer steps taken so far.</summary>
    public required long GlobalStep { get; init; }

    /// <summary>Best validation macro-F1 so far; null without validation data.</summary>
    public double? BestMetric { get; init; }

    /// <summary>1-based epoch whose weights are the best so far.</summary>
    public int BestEpoch { get; init; }

    /// <summary>Epochs since the best one (early stopping's patience counter).</summary>
    public int EpochsWithoutImprovement { get; init; }

    /// <summary>Whether the run is over (all epochs, or stopped early); resuming it trains no more.</summary>
    public bool Finished { get; init; }

    /// <summary>SHA-256 over the training and validation rows; resuming with other data is refused.</summary>
    public required string DataFingerprint { get; init; }

    public IReadOnlyList<EpochMetrics> History { get; init; } = [];

    /// <summary>The network's weights as of <see cref="EpochsCompleted"/>, in safetensors layout.</summary>
    public required byte[] Weights { get; init; }

    /// <summary>The best epoch's weights, or null when they are <see cref="Weights"/>.</summary>
    public byte[]? BestWeights { get; init; }

    /// <summary>AdamW's state; null in a final model, which cannot be resumed but can be a base model.</summary>
    public byte[]? OptimizerState { get; init; }

    /// <summary>The weights a model made from this checkpoint should serve with.</summary>
    public byte[] ServingWeights => BestWeights ?? Weights;

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        Write(archive, ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(Manifest.From(this), TrainingJson.Options), CompressionLevel.Optimal);
        Write(archive, TokenizerEntry, System.Text.Encoding.UTF8.GetBytes(Tokenizer.ToJson()), CompressionLevel.Optimal);
        // Weights are random-looking floats that deflate barely shrinks; storing them keeps checkpoints fast.
        Write(archive, WeightsEntry, Weights, CompressionLevel.NoCompression);
        if (BestWeights is not null)
        {
            Write(archive, BestWeightsEntry, BestWeights, CompressionLevel.NoCompression);
        }

        if (OptimizerState is not null)
        {
            Write(archive, OptimizerEntry, OptimizerState, CompressionLevel.NoCompression);
        }
    }

    /// <exception cref="InvalidDataException">The stream is not a checkpoint this build can read.</exception>
    public static TrainingCheckpoint ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException("The checkpoint is not a zip archive.", e);
        }

        using (archive)
        {
            Manifest manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<Manifest>(Read(archive, ManifestEntry, required: true)!, TrainingJson.Options)
                    ?? throw new InvalidDataException("The checkpoint manifest is empty.");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException("The checkpoint manifest is not valid JSON.", e);
            }

            if (manifest.Format != CurrentFormat)
            {
                throw new InvalidDataException($"The checkpoint has format {manifest.Format}; this build reads format {CurrentFormat}.");
            }

            var tokenizer = TokenizerDefinition.FromJson(System.Text.Encoding.UTF8.GetString(Read(archive, TokenizerEntry, required: true)!));
            return manifest.ToCheckpoint(
                tokenizer,
                Read(archive, WeightsEntry, required: true)!,
                Read(archive, BestWeightsEntry, required: false),
                Read(archive, OptimizerEntry, required: false));
        }
    }

    private static void Write(ZipArchive archive, string name, byte[] content, CompressionLevel level)
    {
        var entry = archive.CreateEntry(name, level);
        // A fixed timestamp: the same checkpoint always gives the same bytes (and SHA-256).
        entry.LastWriteTime = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var output = entry.Open();
        output.Write(content);
    }

    private static byte[]? Read(ZipArchive archive, string name, bool required)
    {
        var entry = archive.GetEntry(name);
        if (entry is null)
        {
            return required ? throw new InvalidDataException($"The checkpoint has no {name}.") : null;
        }

        using var input = entry.Open();
        var content = new byte[entry.Length];
        input.ReadExactly(content);
        return content;
    }

    /// <summary>checkpoint.json: everything but the tokenizer and the tensors.</summary>
    private sealed record Manifest(
        int Format,
        string Architecture,
        ModelConfig ModelConfig,
        Hyperparameters Hyperparameters,
        IReadOnlyList<string> Labels,
        string? OutOfScopeLabel,
        double? OutOfScopeThreshold,
        int EpochsCompleted,
        long GlobalStep,
        double? BestMetric,
        int BestEpoch,
        int EpochsWithoutImprovement,
        bool Finished,
        string DataFingerprint,
        IReadOnlyList<EpochMetrics> History)
    {
        public static Manifest From(TrainingCheckpoint c) => new(
            CurrentFormat,
            c.Architecture,
            c.ModelConfig,
            c.Hyperparameters,
            c.Labels,
            c.OutOfScopeLabel,
            c.OutOfScopeThreshold,
            c.EpochsCompleted,
            c.GlobalStep,
            c.BestMetric,
            c.BestEpoch,
            c.EpochsWithoutImprovement,
            c.Finished,
            c.DataFingerprint,
            c.History);

        public TrainingCheckpoint ToCheckpoint(TokenizerDefinition tokenizer, byte[] weights, byte[]? bestWeights, byte[]? optimizerState) => new()
        {
            Architecture = Architecture ?? throw new InvalidDataException("The checkpoint names no architecture."),
            ModelConfig = ModelConfig ?? throw new InvalidDataException("The checkpoint has no model configuration."),
            Hyperparameters = Hyperparameters ?? throw new InvalidDataException("The checkpoint has no hyperparameters."),
            Tokenizer = tokenizer,
            Labels = Labels ?? throw new InvalidDataException("The checkpoint has no labels."),
            OutOfScopeLabel = OutOfScopeLabel,
            OutOfScopeThreshold = OutOfScopeThreshold,
            EpochsCompleted = EpochsCompleted,
            GlobalStep = GlobalStep,
            BestMetric = BestMetric,
            BestEpoch = BestEpoch,
            EpochsWithoutImprovement = EpochsWithoutImprovement,
            Finished = Finished,
            DataFingerprint = DataFingerprint ?? "",
            History = History ?? [],
            Weights = weights,
            BestWeights = bestWeights,
            OptimizerState = optimizerState,
        };
    }
}
