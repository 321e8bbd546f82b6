namespace TextClassification.Inference;

/// <summary>
/// Base of the errors the serving core reports to its callers, one per cause, in the manner of KServe's data plane:
/// the HTTP and gRPC layers map each to a status once.
/// </summary>
public class InferenceException : Exception
{
    public InferenceException()
    {
    }

    public InferenceException(string message)
        : base(message)
    {
    }

    public InferenceException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The model name, or the version or alias asked for, does not exist.</summary>
public sealed class ModelNotFoundException : InferenceException
{
    public ModelNotFoundException(string model, int? version, string message)
        : base(message)
    {
        Model = model;
        Version = version;
    }

    public string Model { get; }

    public int? Version { get; }
}

/// <summary>
/// The model version exists but cannot be served: it was never exported to ONNX, its artifact is missing or
/// corrupted, or its session failed to load or warm up. The message says which.
/// </summary>
public sealed class ModelUnavailableException : InferenceException
{
    public ModelUnavailableException(string model, int version, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Model = model;
        Version = version;
    }

    public string Model { get; }

    public int Version { get; }
}

/// <summary>The request itself is wrong; <see cref="Index"/> names the offending input when there is one.</summary>
public sealed class InvalidInputException : InferenceException
{
    public InvalidInputException(string message, int? index = null)
        : base(message)
    {
        Index = index;
    }

    /// <summary>The position of the offending text in the request's inputs, or null when the request as a whole is wrong.</summary>
    public int? Index { get; }
}
