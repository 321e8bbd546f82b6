using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using TextClassification.Api.Contracts;

namespace TextClassification.Api.Problems;

/// <summary>
/// The one place that decides the body of every error the API sends, in the shape of the protocol the request
/// speaks: <c>{"error": "..."}</c> under the Open Inference Protocol's <c>/v2</c>, RFC 9457 problem details
/// everywhere else. Exceptions (<see cref="ProblemExceptionHandler"/>), refusals before an endpoint runs (401, 403,
/// 413, 429) and requests no endpoint answers (404, 405: <see cref="WriteForStatusCodeAsync"/>) all come here.
/// </summary>
internal static class ErrorResponses
{
    public const string OpenInferencePrefix = "/v2";

    public static bool SpeaksOpenInference(HttpRequest request) => request.Path.StartsWithSegments(OpenInferencePrefix);

    /// <summary>Sets <paramref name="status"/> and writes the error; false when the caller accepts no problem details (the status alone is sent).</summary>
    public static async Task<bool> WriteAsync(
        HttpContext context, int status, string title, string detail, IReadOnlyList<ProblemError>? errors = null, Exception? exception = null)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable && !context.Response.Headers.ContainsKey("Retry-After"))
        {
            context.Response.Headers.RetryAfter = "5";
        }

        if (SpeaksOpenInference(context.Request))
        {
            // The protocol's error has no room for the request id, so a server error names it in the message.
            string message = status >= 500 ? $"{detail} (request id {context.TraceIdentifier})" : detail;
            await context.Response.WriteAsJsonAsync(new OipError(message), context.RequestAborted);
            return true;
        }

        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (errors is { Count: > 0 })
        {
            problem.Extensions["errors"] = errors;
        }

        return await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    /// <summary>
    /// The body of an error status set without one: a path no endpoint has (404), a method the path does not take
    /// (405, with the <c>Allow</c> header routing set), or a status the framework set by itself.
    /// </summary>
    public static Task WriteForStatusCodeAsync(HttpContext context)
    {
        int status = context.Response.StatusCode;
        string method = context.Request.Method;
        string path = context.Request.Path.Value ?? "/";
        return status switch
        {
            StatusCodes.Status404NotFound => WriteAsync(context, status, "Not found.", $"No endpoint answers {method} {path}."),
            StatusCodes.Status405MethodNotAllowed => WriteAsync(context, status, "Method not allowed.",
                $"{path} does not take {method}; it takes {(context.Response.Headers.Allow.Count > 0 ? context.Response.Headers.Allow.ToString() : "other methods")}."),
            _ => WriteAsync(context, status, ReasonPhrases.GetReasonPhrase(status) + ".", $"The request was refused with status {status}."),
        };
    }
}
