using TextClassification.Training.Checkpoints;

namespace TextClassification.Training.Loop;

/// <summary>
/// What a running training reports. The job layer implements it to store progress, metrics and checkpoints; it is
/// called on the training thread, between batches, so it should return quickly (throttle or queue what is slow).
/// </summary>
public interface ITrainingObserver
{
    /// <summary>After every optimizer step. Cheap to receive; report a subset (say, once a second).</summary>
    void OnStep(TrainingStep step);

    /// <summary>After every epoch's validation.</summary>
    void OnEpoch(EpochMetrics metrics);

    /// <summary>
    /// After every epoch, after <see cref="OnEpoch"/>: a complete resume point. The checkpoint owns its bytes and is
    /// never changed afterwards, so it may be written on another thread after this returns.
    /// </summary>
    void OnCheckpoint(TrainingCheckpoint checkpoint);

    /// <summary>
    /// After every batch of a phase that takes no optimizer step (embedding texts through a frozen encoder, linear
    /// probing, validation, the threshold search): a sign of life, so that a supervisor does not take minutes of such
    /// work on a large dataset for a hang.
    /// </summary>
    void OnBatch()
    {
    }
}

/// <summary>One optimizer step.</summary>
/// <param name="Epoch">1-based epoch the step belongs to.</param>
/// <param name="Step">Optimizer steps done so far in the run, this one included (1-based).</param>
/// <param name="TotalSteps">Steps the run takes if it does not stop early.</param>
/// <param name="Loss">Training loss of this batch.</param>
/// <param name="LearningRate">Learning rate this step used.</param>
/// <param name="ExamplesPerSecond">Training throughput since the epoch started.</param>
public sealed record TrainingStep(int Epoch, long Step, long TotalSteps, double Loss, double LearningRate, double ExamplesPerSecond);

/// <summary>What one epoch achieved. Validation figures are null when there is no validation data.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches (with label smoothing and class weights).</param>
/// <param name="ValidationLoss">Mean cross-entropy on the in-scope validation rows (no smoothing, no weights).</param>
/// <param name="ValidationAccuracy">Arg-max accuracy on the in-scope validation rows.</param>
/// <param name="ValidationMacroF1">Macro-F1 of the arg-max predictions on the in-scope validation rows; early stopping watches it.</param>
/// <param name="IsBest">Whether this epoch's weights are now the best (the ones the run will keep).</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
public sealed record EpochMetrics(
    int Epoch,
    double TrainLoss,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double? ValidationMacroF1,
    bool IsBest,
    double Seconds);
