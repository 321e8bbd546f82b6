namespace TextClassification.Training.Jobs;

/// <summary>
/// A job failed for a reason its owner can act on (bad data, out of memory, an export that does not match the
/// network). The job ends <c>failed</c> with <see cref="Code"/> and the message, and is not retried: the same input
/// would fail the same way.
/// </summary>
public sealed class TrainingFailedException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;

    public const string InvalidData = "invalid_data";
    public const string OutOfMemory = "out_of_memory";
    public const string BaseModelUnusable = "base_model_unusable";
    public const string TeacherUnusable = "teacher_unusable";
    public const string ArtifactCorrupted = "artifact_corrupted";
    public const string ExportParityFailed = "export_parity_failed";
    public const string TrainingProcessCrashed = "training_process_crashed";
    public const string TrainingProcessKilled = "training_process_killed";
    public const string TrainingHung = "training_hung";
}
