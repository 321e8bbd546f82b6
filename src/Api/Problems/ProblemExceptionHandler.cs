using Microsoft.AspNetCore.Diagnostics;
using TextClassification.Inference;
using TextClassification.Persistence.Artifacts;

namespace TextClassification.Api.Problems;

/// <summary>
/// The one place where exceptions become errors (RFC 9457 problem details, or the Open Inference Protocol's
/// <c>{"error"}</c> under <c>/v2</c>: <see cref="ErrorResponses"/> writes them). Known refusals keep their status and
/// errors; anything else is a 500 whose detail names no internals (the log has the exception, under the same request id).
/// </summary>
internal sealed partial class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var error = exception switch
        {
            ApiProblemException api => new Error(api.Status, api.Title, api.Message, api.Errors),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new Error(
                StatusCodes.Status413PayloadTooLarge, "The request body is too large.", exception.Message),
            BadHttpRequestException { InnerException: System.Text.Json.JsonException json } bad => new Error(
                bad.StatusCode, "The request body is not valid JSON for this operation.", JsonProblem(json), [new ProblemError(JsonField(json), null, JsonProblem(json))]),
            BadHttpRequestException bad => new Error(bad.StatusCode, "The request is malformed.", bad.Message),
            InvalidInputException invalid => new Error(StatusCodes.Status400BadRequest, "The request is invalid.", invalid.Message,
                [new ProblemError(invalid.Index is { } index ? $"inputs[{index}]" : null, null, invalid.Message)]),
            ModelNotFoundException => new Error(StatusCodes.Status404NotFound, "Model not found.", exception.Message),
            ModelUnavailableException => new Error(StatusCodes.Status503ServiceUnavailable, "The model cannot be served.", exception.Message),
            InferenceException => new Error(StatusCodes.Status400BadRequest, "The request is invalid.", exception.Message),
            _ when TransientDatabaseFailure.Find(exception) is not null => new Error(
                StatusCodes.Status503ServiceUnavailable, "The database is unavailable.", "The service cannot reach its database right now; retry shortly."),
            ArtifactEncryptionKeyException => new Error(
                StatusCodes.Status500InternalServerError, "A stored file cannot be decrypted with the configured key.", exception.Message),
            ArtifactIntegrityException or ArtifactNotFoundException => new Error(
                StatusCodes.Status500InternalServerError, "A stored file failed its integrity check.", exception.Message),
            _ => null,
        };

        if (error is null)
        {
            LogUnhandled(logger, exception, httpContext.TraceIdentifier);
            error = new Error(StatusCodes.Status500InternalServerError, "An unexpected error occurred.",
                "The server could not complete the request; the request id identifies it in the server's log.");
        }
        else if (error.Status >= 500)
        {
            LogUnhandled(logger, exception, httpContext.TraceIdentifier);
        }

        return await ErrorResponses.WriteAsync(httpContext, error.Status, error.Title, error.Detail, error.Errors, exception);
    }

    private sealed record Error(int Status, string Title, string Detail, IReadOnlyList<ProblemError>? Errors = null);

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
