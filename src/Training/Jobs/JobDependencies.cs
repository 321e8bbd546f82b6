using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>
/// Which unfinished jobs will read a base model or a model version when they run, so that neither is deleted from
/// under them.
/// </summary>
public static class JobDependencies
{
    /// <summary>
    /// The queued or running jobs among <paramref name="jobs"/> that start from <paramref name="source"/> (a base
    /// model id or a version's name:version), are taught by it (<c>distill_from</c>), or take their word vectors from
    /// it (<c>hyperparameters.word_vectors</c>).
    /// </summary>
    /// <remarks>
    /// The word vectors are matched in the hyperparameters as stored: compact JSON from one serializer, in a text
    /// column on both databases, and neither an id nor a name:version needs escaping. A published version does not
    /// read its word vectors' source again: they are in its weights.
    /// </remarks>
    public static IQueryable<FineTuningJob> ThatRead(this IQueryable<FineTuningJob> jobs, string source)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(source);
        string wordVectors = $"\"word_vectors\":\"{source}\"";
        return jobs.Where(j => (j.BaseModel == source || j.DistillFrom == source || j.HyperparametersJson.Contains(wordVectors))
            && (j.Status == FineTuningJobStatus.Queued || j.Status == FineTuningJobStatus.Running));
    }
}
