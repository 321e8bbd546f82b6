namespace TextClassification.Training.Jobs;

/// <summary>
/// Trains and publishes a job whose lease this worker holds: <see cref="FineTuningJobExecution"/> in this process, or
/// <see cref="TrainingProcess.TrainingProcessSupervisor"/> in a child process (<see cref="JobsOptions.TrainingProcess"/>).
/// Either way the outcome is the same: the published version, <see cref="TrainingFailedException"/> for a failure of
/// the job itself, <see cref="OperationCanceledException"/> once its cancellation token stopped it, and
/// any other exception for an infrastructure failure that a retry resumes from the last checkpoint.
/// </summary>
public interface IFineTuningJobExecution
{
    Task<PublishedModel> ExecuteAsync(string jobId, CancellationToken cancellationToken);
}
