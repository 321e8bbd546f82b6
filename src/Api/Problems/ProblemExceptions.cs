namespace TextClassification.Api.Problems;

/// <summary>One thing wrong with a request: where (a field, a line of an upload, an index of a list) and what.</summary>
/// <param name="Field">The request field or column at fault, if any.</param>
/// <param name="Line">The 1-based line of an uploaded file, if the problem is in a file.</param>
/// <param name="Message">What is wrong, in words a caller can act on.</param>
public sealed record ProblemError(string? Field, long? Line, string Message)
{
    public static ProblemError ForField(string field, string message) => new(field, null, message);
}

/// <summary>
/// A request the API refuses with a specific status and list of errors. Thrown from handlers and mapped to
/// RFC 9457 problem details in one place (<see cref="ProblemExceptionHandler"/>).
/// </summary>
public class ApiProblemException(int status, string title, string detail, IReadOnlyList<ProblemError>? errors = null)
    : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public IReadOnlyList<ProblemError> Errors { get; } = errors ?? [];
}

/// <summary>400: the request is malformed (a field of the wrong type or out of range).</summary>
public sealed class RequestValidationException(IReadOnlyList<ProblemError> errors)
    : ApiProblemException(StatusCodes.Status400BadRequest, "The request is invalid.",
        string.Join(" ", errors.Select(e => e.Message)), errors);

/// <summary>404: the named resource does not exist.</summary>
public sealed class ResourceNotFoundException(string kind, string id)
    : ApiProblemException(StatusCodes.Status404NotFound, $"{kind} not found.", $"No {kind.ToLowerInvariant()} has the id '{id}'.");

/// <summary>409: the request conflicts with the resource's current state.</summary>
public sealed class ResourceConflictException(string detail)
    : ApiProblemException(StatusCodes.Status409Conflict, "The request conflicts with the current state.", detail);

/// <summary>422: the request is well-formed but its content cannot be used (an upload with no usable rows).</summary>
public sealed class UnprocessableContentException(string detail, IReadOnlyList<ProblemError> errors)
    : ApiProblemException(StatusCodes.Status422UnprocessableEntity, "The content cannot be processed.", detail, errors);

/// <summary>413: the request body is larger than the configured limit.</summary>
public sealed class PayloadTooLargeException(long limitBytes, string setting)
    : ApiProblemException(StatusCodes.Status413PayloadTooLarge, "The upload is too large.",
        $"The upload exceeds the limit of {limitBytes} bytes ({setting}).");

/// <summary>415: the request body is not in a media type the endpoint reads.</summary>
public sealed class UnsupportedMediaTypeException(string detail)
    : ApiProblemException(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.", detail);
