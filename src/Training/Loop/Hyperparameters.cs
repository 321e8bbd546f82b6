using System.Text.Json.Serialization;
using TextClassification.Training.Data.Augmentation;

namespace TextClassification.Training.Loop;

/// <summary>How the learning rate moves after warm-up.</summary>
public enum LearningRateScheduleKind
{
    [JsonStringEnumMemberName("linear")]
    Linear,

    [JsonStringEnumMemberName("cosine")]
    Cosine,

    [JsonStringEnumMemberName("constant")]
    Constant,
}

/// <summary>
/// Everything that steers one training run, fully resolved (each architecture has its own defaults, see
/// <see cref="Models.ArchitectureRegistry"/>). Serialised in snake_case, as jobs store and the API shows it.
/// </summary>
public sealed record Hyperparameters
{
    /// <summary>Passes over the training data, at most (early stopping may end sooner).</summary>
    [JsonPropertyName("epochs")]
    public int Epochs { get; init; } = 10;

    [JsonPropertyName("batch_size")]
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak AdamW learning rate, reached at the end of warm-up.</summary>
    [JsonPropertyName("learning_rate")]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW's decoupled weight decay, applied to weights and embeddings (not to biases or norms).</summary>
    [JsonPropertyName("weight_decay")]
    public double WeightDecay { get; init; } = 0.01;

    [JsonPropertyName("dropout")]
    public double Dropout { get; init; } = 0.1;

    /// <summary>Ids per text at most; longer texts are cut.</summary>
    [JsonPropertyName("max_sequence_length")]
    public int MaxSequenceLength { get; init; } = 128;

    /// <summary>Share of all steps spent raising the learning rate linearly from near zero.</summary>
    [JsonPropertyName("warmup_ratio")]
    public double WarmupRatio { get; init; } = 0.1;

    [JsonPropertyName("lr_schedule")]
    [JsonConverter(typeof(JsonStringEnumConverter<LearningRateScheduleKind>))]
    public LearningRateScheduleKind LearningRateSchedule { get; init; } = LearningRateScheduleKind.Linear;

    /// <summary>Stop after this many epochs without a better validation macro-F1; 0 never stops early.</summary>
    [JsonPropertyName("early_stopping_patience")]
    public int EarlyStoppingPatience { get; init; } = 3;

    [JsonPropertyName("label_smoothing")]
    public double LabelSmoothing { get; init; }

    /// <summary>Seeds every random choice (initial weights, shuffling, dropout): same seed and data, same model.</summary>
    [JsonPropertyName("seed")]
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Pretrained encoders only: how many of the top encoder layers train (the head always does). Null (written
    /// <c>"all"</c> by callers) trains every layer and the embeddings; 0 freezes the whole encoder and trains the
    /// head alone.
    /// </summary>
    [JsonPropertyName("train_layers")]
    [JsonConverter(typeof(TrainLayersJsonConverter))]
    public int? TrainLayers { get; init; }

    /// <summary>
    /// Pretrained encoders only: epochs of training the new head alone, on vectors the frozen encoder computes once,
    /// before the encoder trains (linear probing, then fine-tuning). A random head's large early gradients otherwise
    /// pull the pretrained layers off course; with a handful of examples per label this decides the result. 0 skips
    /// it; it is not counted in <see cref="Epochs"/> and leaves no checkpoint of its own.
    /// </summary>
    [JsonPropertyName("probe_epochs")]
    public int ProbeEpochs { get; init; }

    /// <summary>Peak learning rate of the head while probing (linear decay to 0); heads learn far faster than encoders.</summary>
    [JsonPropertyName("probe_learning_rate")]
    public double ProbeLearningRate { get; init; } = 3e-3;

    /// <summary>
    /// Label-preserving variants of the training texts, made afresh each epoch from their own seeded generator and
    /// trained on beside the originals; null (or no technique on) trains on the originals alone, exactly as without it.
    /// </summary>
    [JsonPropertyName("augmentation")]
    public AugmentationSettings? Augmentation { get; init; }

    /// <summary>
    /// Distillation only (a job with <c>distill_from</c>): the temperature both the teacher's and the student's logits
    /// are divided by before the softmax in the soft-target loss; above 1 it spreads the teacher's probability over
    /// the labels it finds similar (default 1, chosen by measurement: see <see cref="DistillationDefaults"/>).
    /// </summary>
    [JsonPropertyName("distillation_temperature")]
    public double DistillationTemperature { get; init; } = DistillationDefaults.Temperature;

    /// <summary>
    /// Distillation only: the weight of the soft-target loss (KL divergence × T²); the labels' cross-entropy gets
    /// 1 − alpha. Texts without a label (out-of-scope and unlabelled ones) have only the soft term.
    /// </summary>
    [JsonPropertyName("distillation_alpha")]
    public double DistillationAlpha { get; init; } = DistillationDefaults.Alpha;

    /// <summary>
    /// Distillation only: variants of each training and unlabelled text in the transfer set, each with words replaced
    /// by their nearest words in MiniLM's input embeddings (see <see cref="Distillation.TransferSet"/>), which the
    /// teacher labels and the student learns from as texts without labels. 0 (the default) adds none: each copy
    /// costs a teacher run per text once (the outputs are cached) and a pass of the student per epoch.
    /// </summary>
    [JsonPropertyName("distillation_transfer_copies")]
    public int DistillationTransferCopies { get; init; }

    /// <summary>Distillation only: the probability that a word of a transfer-set variant is replaced by one of its nearest words.</summary>
    [JsonPropertyName("distillation_word_replacement")]
    public double DistillationWordReplacement { get; init; } = Distillation.TransferSet.DefaultWordReplacement;

    /// <summary>
    /// The n-gram bag only: the width of its embeddings. Null keeps the architecture's shape; other architectures take
    /// their width from their config or their base model, and refuse this.
    /// </summary>
    [JsonPropertyName("embedding_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? EmbeddingDim { get; init; }

    /// <summary>
    /// The n-gram bag trained from scratch only: where the bag's word vectors come from, through a learned projection
    /// (see <see cref="Models.NGramBagClassifier"/>): a base model (<c>minilm-l6</c>, or an uploaded one; its pooled
    /// output for each whole word alone) or a registered version as <c>name:version</c> (its logits for each word
    /// alone, see <see cref="BaseModels.PretrainedWordVectors.FromClassifierLogits"/>). The words join the vocabulary, so
    /// words the training texts lack keep what the source knows about them. Null (the default) for none.
    /// </summary>
    [JsonPropertyName("word_vectors")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? WordVectors { get; init; }

    /// <summary>Problems with these values, each naming its field as serialised; empty when the run can start.</summary>
    public IReadOnlyList<HyperparameterError> Validate()
    {
        var errors = new List<HyperparameterError>();
        Check(Epochs is >= 1 and <= 1000, "epochs", "must be between 1 and 1000");
        Check(BatchSize is >= 1 and <= 4096, "batch_size", "must be between 1 and 4096");
        Check(LearningRate > 0 && LearningRate <= 10, "learning_rate", "must be greater than 0 and at most 10");
        Check(WeightDecay >= 0 && WeightDecay <= 10, "weight_decay", "must be between 0 and 10");
        Check(Dropout >= 0 && Dropout < 1, "dropout", "must be at least 0 and less than 1");
        Check(MaxSequenceLength is >= 1 and <= 8192, "max_sequence_length", "must be between 1 and 8192");
        Check(WarmupRatio >= 0 && WarmupRatio < 1, "warmup_ratio", "must be at least 0 and less than 1");
        Check(Enum.IsDefined(LearningRateSchedule), "lr_schedule", "must be linear, cosine or constant");
        Check(EarlyStoppingPatience is >= 0 and <= 1000, "early_stopping_patience", "must be between 0 and 1000");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, "label_smoothing", "must be at least 0 and less than 1");
        Check(TrainLayers is null or (>= 0 and <= 48), "train_layers", "must be \"all\" or a layer count between 0 and 48");
        Check(ProbeEpochs is >= 0 and <= 1000, "probe_epochs", "must be between 0 and 1000");
        Check(ProbeLearningRate > 0 && ProbeLearningRate <= 10, "probe_learning_rate", "must be greater than 0 and at most 10");
        if (Augmentation is not null)
        {
            errors.AddRange(Augmentation.Validate("augmentation"));

            // A frozen encoder embeds each training text once, before the epochs; variants would never be seen.
            Check(!Augmentation.Enabled || TrainLayers != 0, "augmentation", "needs an encoder that trains: with train_layers 0 every text is embedded once, so variants would never be seen");
        }

        Check(DistillationTemperature >= 0.1 && DistillationTemperature <= 100, "distillation_temperature", "must be between 0.1 and 100");
        Check(DistillationAlpha >= 0 && DistillationAlpha <= 1, "distillation_alpha", "must be between 0 and 1");
        Check(DistillationTransferCopies is >= 0 and <= Distillation.TransferSet.MaxCopies, "distillation_transfer_copies", $"must be between 0 and {Distillation.TransferSet.MaxCopies}");
        Check(DistillationWordReplacement > 0 && DistillationWordReplacement <= 1, "distillation_word_replacement", "must be greater than 0 and at most 1");
        Check(EmbeddingDim is null or (>= 1 and <= 4096), "embedding_dim", "must be between 1 and 4096");
        Check(WordVectors is null || BaseModels.BaseModelCatalog.IsValidId(WordVectors) || Jobs.ModelReference.TryParse(WordVectors, out _), "word_vectors", "must be a base model id (lower-case letters, digits, dots, underscores and hyphens) or a model version as name:version");
        return errors;

        // The comparisons are written so that NaN fails them.
        void Check(bool valid, string field, string message)
        {
            if (!valid)
            {
                errors.Add(new HyperparameterError(field, message));
            }
        }
    }
}

/// <summary>A problem with one hyperparameter, by its serialised (snake_case) name.</summary>
public sealed record HyperparameterError(string Field, string Message);

/// <summary>
/// The hyperparameters a caller chose; the rest come from the architecture's defaults. This is what a job request
/// carries; <see cref="ApplyTo"/> gives the resolved record a job stores.
/// </summary>
public sealed record HyperparameterOverrides
{
    [JsonPropertyName("epochs")]
    public int? Epochs { get; init; }

    [JsonPropertyName("batch_size")]
    public int? BatchSize { get; init; }

    [JsonPropertyName("learning_rate")]
    public double? LearningRate { get; init; }

    [JsonPropertyName("weight_decay")]
    public double? WeightDecay { get; init; }

    [JsonPropertyName("dropout")]
    public double? Dropout { get; init; }

    [JsonPropertyName("max_sequence_length")]
    public int? MaxSequenceLength { get; init; }

    [JsonPropertyName("warmup_ratio")]
    public double? WarmupRatio { get; init; }

    [JsonPropertyName("lr_schedule")]
    [JsonConverter(typeof(JsonStringEnumConverter<LearningRateScheduleKind>))]
    public LearningRateScheduleKind? LearningRateSchedule { get; init; }

    [JsonPropertyName("early_stopping_patience")]
    public int? EarlyStoppingPatience { get; init; }

    [JsonPropertyName("label_smoothing")]
    public double? LabelSmoothing { get; init; }

    [JsonPropertyName("seed")]
    public int? Seed { get; init; }

    [JsonPropertyName("probe_epochs")]
    public int? ProbeEpochs { get; init; }

    [JsonPropertyName("probe_learning_rate")]
    public double? ProbeLearningRate { get; init; }

    [JsonPropertyName("distillation_temperature")]
    public double? DistillationTemperature { get; init; }

    [JsonPropertyName("distillation_alpha")]
    public double? DistillationAlpha { get; init; }

    [JsonPropertyName("distillation_transfer_copies")]
    public int? DistillationTransferCopies { get; init; }

    [JsonPropertyName("distillation_word_replacement")]
    public double? DistillationWordReplacement { get; init; }

    [JsonPropertyName("embedding_dim")]
    public int? EmbeddingDim { get; init; }

    [JsonPropertyName("word_vectors")]
    public string? WordVectors { get; init; }

    /// <summary><c>"all"</c> or a number of top encoder layers; see <see cref="Hyperparameters.TrainLayers"/>.</summary>
    [JsonPropertyName("train_layers")]
    [JsonConverter(typeof(TrainLayersJsonConverter))]
    public int? TrainLayers { get; init; }

    /// <summary>Replaces the default augmentation whole; <c>{}</c> (no technique on) turns a default off.</summary>
    [JsonPropertyName("augmentation")]
    public AugmentationSettings? Augmentation { get; init; }

    public Hyperparameters ApplyTo(Hyperparameters defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return new Hyperparameters
        {
            Epochs = Epochs ?? defaults.Epochs,
            BatchSize = BatchSize ?? defaults.BatchSize,
            LearningRate = LearningRate ?? defaults.LearningRate,
            WeightDecay = WeightDecay ?? defaults.WeightDecay,
            Dropout = Dropout ?? defaults.Dropout,
            MaxSequenceLength = MaxSequenceLength ?? defaults.MaxSequenceLength,
            WarmupRatio = WarmupRatio ?? defaults.WarmupRatio,
            LearningRateSchedule = LearningRateSchedule ?? defaults.LearningRateSchedule,
            EarlyStoppingPatience = EarlyStoppingPatience ?? defaults.EarlyStoppingPatience,
            LabelSmoothing = LabelSmoothing ?? defaults.LabelSmoothing,
            Seed = Seed ?? defaults.Seed,
            TrainLayers = TrainLayers ?? defaults.TrainLayers,
            ProbeEpochs = ProbeEpochs ?? defaults.ProbeEpochs,
            ProbeLearningRate = ProbeLearningRate ?? defaults.ProbeLearningRate,
            Augmentation = Augmentation ?? defaults.Augmentation,
            DistillationTemperature = DistillationTemperature ?? defaults.DistillationTemperature,
            DistillationAlpha = DistillationAlpha ?? defaults.DistillationAlpha,
            DistillationTransferCopies = DistillationTransferCopies ?? defaults.DistillationTransferCopies,
            DistillationWordReplacement = DistillationWordReplacement ?? defaults.DistillationWordReplacement,
            EmbeddingDim = EmbeddingDim ?? defaults.EmbeddingDim,
            WordVectors = WordVectors ?? defaults.WordVectors,
        };
    }
}

/// <summary>
/// <c>train_layers</c> on the wire: a layer count, or <c>"all"</c> (null here). Written as <c>"all"</c> too, so what a
/// job shows can be sent back as it is.
/// </summary>
internal sealed class TrainLayersJsonConverter : JsonConverter<int?>
{
    public const string All = "all";

    public override bool HandleNull => true;

    public override int? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            System.Text.Json.JsonTokenType.Null => null,
            System.Text.Json.JsonTokenType.String when reader.ValueTextEquals(All) => null,
            System.Text.Json.JsonTokenType.Number when reader.TryGetInt32(out int layers) => layers,
            _ => throw new System.Text.Json.JsonException($"train_layers must be \"{All}\" or a whole number of layers."),
        };

    public override void Write(System.Text.Json.Utf8JsonWriter writer, int? value, System.Text.Json.JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } layers)
        {
            writer.WriteNumberValue(layers);
        }
        else
        {
            writer.WriteStringValue(All);
        }
    }
}
