namespace TextClassification.Inference.Batching;

/// <summary>
/// The model was unloaded (evicted or deleted) between resolving it and running on it. Internal: the prediction
/// service answers it by resolving again, so callers never see it.
/// </summary>
internal sealed class ModelEvictedException : Exception
{
    public ModelEvictedException()
        : base("The model was unloaded before the request ran.")
    {
    }
}
