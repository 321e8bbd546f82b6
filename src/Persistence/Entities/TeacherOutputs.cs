namespace TextClassification.Persistence.Entities;

/// <summary>
/// A teacher's logits over every text of one dataset, computed once for distillation and kept for the next student:
/// identified by the SHA-256 of the teacher's ONNX file and of the dataset's stored file, so that a new teacher
/// version or a changed dataset never reads another's outputs. The logits live in the artifact store.
/// </summary>
public sealed class TeacherOutputs
{
    public long Id { get; init; }

    public required string TeacherOnnxSha256 { get; init; }

    public required string DatasetSha256 { get; init; }

    /// <summary>Texts scored (the dataset's rows, in stored order).</summary>
    public int Rows { get; init; }

    /// <summary>Logit columns per row: the teacher's labels.</summary>
    public int Labels { get; init; }

    public required string ArtifactKey { get; init; }

    public required string Sha256 { get; init; }

    public long SizeBytes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
