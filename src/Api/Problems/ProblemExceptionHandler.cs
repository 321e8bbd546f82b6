using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using TextClassification.Inference;
using TextClassification.Persistence.Artifacts;

namespace TextClassification.Api.Problems;

/// <summary>
/// The one place where exceptions become RFC 9457 problem details. Known refusals keep their status and errors;
/// anything else is a 500 whose detail names no internals (the log has the exception, under the same request id).
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            ApiProblemException api => Describe(api.Status, api.Title, api.Message, api.Errors),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => Describe(
                StatusCodes.Status413PayloadTooLarge, "The request body is too large.", exception.Message, []),
            BadHttpRequestException { InnerException: System.Text.Json.JsonException json } bad => Describe(
                bad.StatusCode, "The request body is not valid JSON for this operation.", JsonProblem(json), [new ProblemError(JsonField(json), null, JsonProblem(json))]),
            BadHttpRequestException bad => Describe(bad.StatusCode, "The request is malformed.", bad.Message, []),
            InvalidInputException invalid => Describe(StatusCodes.Status400BadRequest, "The request is invalid.", invalid.Message,
                [new ProblemError(invalid.Index is { } index ? $"inputs[{index}]" : null, null, invalid.Message)]),
            ModelNotFoundException => Describe(StatusCodes.Status404NotFound, "Model not found.", exception.Message, []),
            ModelUnavailableException => Describe(StatusCodes.Status503ServiceUnavailable, "The model cannot be served.", exception.Message, []),
            _ when TransientDatabaseFailure.Find(exception) is not null => Describe(
                StatusCodes.Status503ServiceUnavailable, "The database is unavailable.",
                "The service cannot reach its database right now; retry shortly.", []),
            ArtifactEncryptionKeyException => Describe(
                StatusCodes.Status500InternalServerError, "A stored file cannot be decrypted with the configured key.", exception.Message, []),
            ArtifactIntegrityException or ArtifactNotFoundException => Describe(
                StatusCodes.Status500InternalServerError, "A stored file failed its integrity check.", exception.Message, []),
            _ => null,
        };

        if (problem is null)
        {
            LogUnhandled(logger, exception, httpContext.TraceIdentifier);
            problem = Describe(StatusCodes.Status500InternalServerError, "An unexpected error occurred.",
                "The server could not complete the request; the request id identifies it in the server's log.", []);
        }
        else if (problem.Status >= 500)
        {
            LogUnhandled(logger, exception, httpContext.TraceIdentifier);
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails Describe(int status, string title, string detail, IReadOnlyList<ProblemError> errors)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (errors.Count > 0)
        {
            problem.Extensions["errors"] = errors;
        }

        return problem;
    }

    /// <summary>The JSON path of the value that did not bind, as a field name: <c>$.hyperparameters.epochs</c> → <c>hyperparameters.epochs</c>.</summary>
    private static string? JsonField(System.Text.Json.JsonException json) =>
        json.Path is null or "$" ? null : json.Path.StartsWith("$.", StringComparison.Ordinal) ? json.Path[2..] : json.Path;

    private static string JsonProblem(System.Text.Json.JsonException json) =>
        JsonField(json) is { } field
            ? $"The value of '{field}' has the wrong type or format."
            : $"The body is not valid JSON (line {json.LineNumber + 1}, position {json.BytePositionInLine + 1}).";

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {RequestId} failed")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string requestId);
}
