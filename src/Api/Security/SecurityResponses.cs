using Microsoft.AspNetCore.Mvc;
using TextClassification.Api.Contracts;

namespace TextClassification.Api.Security;

/// <summary>
/// Refusals made before an endpoint runs (401, 403, 413, 429), in the shape of the protocol the caller speaks:
/// RFC 9457 problem details everywhere, <c>{"error": "..."}</c> under the Open Inference Protocol's <c>/v2</c>.
/// </summary>
internal static class SecurityResponses
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        if (context.Request.Path.StartsWithSegments("/v2"))
        {
            await context.Response.WriteAsJsonAsync(new OipError(detail), context.RequestAborted);
            return;
        }

        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
