namespace TextClassification.Training.Jobs;

/// <summary>
/// Counts signs of life of the training in this process: a step, an epoch, the end of a phase. A training child
/// process passes them on to its supervisor, which stops a job that shows none for
/// <see cref="TrainingProcessOptions.HangTimeout"/>; in the worker process itself nobody reads them.
/// </summary>
public sealed class TrainingHeartbeat
{
    private long _beats;

    public long Beats => Interlocked.Read(ref _beats);

    public void Beat() => Interlocked.Increment(ref _beats);
}
