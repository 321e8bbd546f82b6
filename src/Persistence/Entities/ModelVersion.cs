namespace TextClassification.Persistence.Entities;

/// <summary>
/// One published version of a model: what a succeeded fine-tuning job produced, numbered 1, 2, 3, … per model name.
/// The trained network, its tokenizer and its labels live in the artifact store; this row says where and describes them.
/// </summary>
public sealed class ModelVersion
{
    public long Id { get; init; }

    /// <summary>The registry name, <c>[a-z0-9][a-z0-9._-]{0,63}</c>.</summary>
    public required string ModelName { get; init; }

    public int Version { get; init; }

    /// <summary>The fine-tuning job that produced this version.</summary>
    public required string JobId { get; init; }

    public required string Architecture { get; init; }

    /// <summary><c>name:version</c> of the model this version was distilled from; null when it learnt from labels alone.</summary>
    public string? Teacher { get; init; }

    /// <summary>The labels the model predicts, in output order, as JSON.</summary>
    public required string LabelsJson { get; init; }

    /// <summary>The job's evaluation on its validation data, as JSON.</summary>
    public required string MetricsJson { get; init; }

    /// <summary>Below this top score a prediction is "out of scope"; null when the job named no out-of-scope label.</summary>
    public double? OutOfScopeThreshold { get; init; }

    /// <summary>The trained network with its tokenizer and configuration (a training checkpoint).</summary>
    public required string CheckpointArtifactKey { get; init; }

    public required string CheckpointSha256 { get; init; }

    public long CheckpointSizeBytes { get; init; }

    /// <summary>
    /// The exported float32 ONNX model, with its tokenizer, labels and threshold in its metadata; checked against the
    /// trained network before this row was written. Null only for versions published before export existed.
    /// </summary>
    public string? OnnxArtifactKey { get; init; }

    public string? OnnxSha256 { get; init; }

    public long? OnnxSizeBytes { get; init; }

    /// <summary>The standard ONNX operator set the graph is written against.</summary>
    public int? Opset { get; init; }

    /// <summary>The parity check's outcome (largest logit difference per batch), as JSON.</summary>
    public string? ParityJson { get; init; }

    /// <summary>The dynamically quantized (INT8) model, when the job asked for one; served instead of the float32 one.</summary>
    public string? QuantizedOnnxArtifactKey { get; init; }

    public string? QuantizedOnnxSha256 { get; init; }

    public long? QuantizedOnnxSizeBytes { get; init; }

    /// <summary>What quantization changed, measured on the validation rows: accuracy and latency of both graphs, as JSON.</summary>
    public string? QuantizationJson { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
