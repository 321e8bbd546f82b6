using TextClassification.Inference.Tokenization;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Distillation;
using TextClassification.Training.Models;
using static TorchSharp.torch;

namespace TextClassification.Training.Loop;

/// <summary>What to train, on what, and from where.</summary>
public sealed record TrainingRequest
{
    /// <summary>An <see cref="ArchitectureRegistry"/> name.</summary>
    public required string Architecture { get; init; }

    /// <summary>Resolved hyperparameters (see <see cref="HyperparameterOverrides.ApplyTo"/>).</summary>
    public required Hyperparameters Hyperparameters { get; init; }

    public required IReadOnlyList<LabelledText> Train { get; init; }

    /// <summary>Rows for early stopping, the final evaluation and the out-of-scope threshold; may be empty.</summary>
    public IReadOnlyList<LabelledText> Validation { get; init; } = [];

    /// <summary>
    /// The label of out-of-scope rows, if the data has them. Such rows are not a class: they are left out of training,
    /// and in validation they choose the threshold below which predictions become out of scope.
    /// </summary>
    public string? OutOfScopeLabel { get; init; }

    /// <summary>
    /// A checkpoint of this same run (same data and settings) to continue from its epoch boundary; the checkpoint's
    /// hyperparameters, tokenizer, labels and shape are used.
    /// </summary>
    public TrainingCheckpoint? Resume { get; init; }

    /// <summary>
    /// A previous run to start from (transfer): its tokenizer and weights are reused, and its classifier head is
    /// rebuilt for this run's labels, keeping the rows of labels both share. Must be the same architecture.
    /// </summary>
    public TrainingCheckpoint? BaseModel { get; init; }

    /// <summary>
    /// A pretrained encoder to fine-tune (architecture <c>bert</c>): its tokenizer and encoder weights are used, with a
    /// new head for this run's labels. Ignored when resuming (the checkpoint holds the weights).
    /// </summary>
    public PretrainedEncoder? Pretrained { get; init; }

    /// <summary>
    /// Distillation: the teacher's logits for the training texts and the unlabelled texts to learn from too; the loss
    /// becomes <see cref="DistillationLoss"/>. Null for an ordinary run.
    /// </summary>
    public TeacherTargets? Teacher { get; init; }

    /// <summary>The pretrained word vectors <see cref="Hyperparameters.WordVectors"/> names, for an n-gram bag trained from scratch.</summary>
    public PretrainedWordVectors? WordVectors { get; init; }

    /// <summary>Tokenizer settings in place of the architecture's defaults (experiments; jobs leave it null).</summary>
    public TokenizerSettings? Tokenizer { get; init; }

    /// <summary>Network shape in place of the architecture's default (experiments; jobs leave it null).</summary>
    public ModelConfig? Model { get; init; }

    /// <summary>How the out-of-scope threshold is chosen on the validation rows.</summary>
    public ThresholdObjective ThresholdObjective { get; init; } = OutOfScopeThreshold.DefaultObjective;

    /// <summary>Where tensors live; the CPU when null.</summary>
    public Device? Device { get; init; }
}

/// <summary>The outcome of a finished run.</summary>
/// <param name="Model">The final model: best weights, tokenizer, labels, threshold; no optimizer state.</param>
/// <param name="Evaluation">The best weights on the validation rows, out-of-scope rows included; null without validation data.</param>
/// <param name="EpochsRun">Epochs trained in total (resumed ones included).</param>
/// <param name="BestEpoch">1-based epoch whose weights the model has.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run before its last epoch.</param>
/// <param name="TrainingSeconds">Wall time of this call.</param>
public sealed record TrainingResult(
    TrainingCheckpoint Model,
    EvaluationReport? Evaluation,
    int EpochsRun,
    int BestEpoch,
    bool StoppedEarly,
    double TrainingSeconds);

/// <summary>The request cannot be trained as given: bad data, settings, or a checkpoint that does not belong.</summary>
public sealed class TrainingRequestException(string message) : Exception(message);
