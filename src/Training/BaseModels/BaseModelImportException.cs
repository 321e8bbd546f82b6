namespace TextClassification.Training.BaseModels;

/// <summary>One thing wrong with an uploaded base model.</summary>
/// <param name="Where">
/// The file, and inside it the field or tensor: <c>config.json:hidden_size</c>,
/// <c>model.safetensors:encoder.layer.3.output.dense.weight</c>, <c>archive:../etc/passwd</c>, or a file alone.
/// </param>
/// <param name="Message">What is wrong, in words the uploader can act on.</param>
public sealed record BaseModelProblem(string Where, string Message);

/// <summary>Why an upload is refused, which decides the status it is answered with.</summary>
public enum BaseModelRefusal
{
    /// <summary>The archive or the folder in it is not a usable model (422).</summary>
    Invalid,

    /// <summary>The archive expands past <see cref="BaseModelsOptions.MaxExpandedBytes"/> or holds too many entries (413).</summary>
    TooLarge,

    /// <summary>The id is taken, by a built-in or an earlier upload (409).</summary>
    IdTaken,
}

/// <summary>An upload the catalog refuses; nothing of it was stored.</summary>
public sealed class BaseModelImportException : Exception
{
    public BaseModelImportException(BaseModelRefusal refusal, IReadOnlyList<BaseModelProblem> problems)
        : base(problems.Count > 0 ? problems[0].Message : "The base model was refused.")
    {
        Refusal = refusal;
        Problems = problems;
    }

    public BaseModelImportException(BaseModelRefusal refusal, string where, string message)
        : this(refusal, [new BaseModelProblem(where, message)])
    {
    }

    public BaseModelRefusal Refusal { get; }

    public IReadOnlyList<BaseModelProblem> Problems { get; }
}

/// <summary>A base model cannot be deleted: it is built in, or jobs or model versions depend on it.</summary>
public sealed class BaseModelInUseException(string message, IReadOnlyList<string> dependents) : Exception(message)
{
    /// <summary>The jobs (<c>ftjob_…</c>) and model versions (<c>name:version</c>) that depend on it.</summary>
    public IReadOnlyList<string> Dependents { get; } = dependents;
}
