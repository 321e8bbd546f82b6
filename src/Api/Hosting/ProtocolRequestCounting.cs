using TextClassification.Inference;

namespace TextClassification.Api.Hosting;

/// <summary>Marks an endpoint as carrying a serving protocol (<c>v1</c>, <c>v2</c>), so its requests are counted.</summary>
internal sealed record ServingProtocolMetadata(string Protocol);

/// <summary>
/// Counts every request to a serving endpoint in <c>inference_protocol_requests_total</c> by protocol and outcome,
/// from the status the caller got: the data plane counts predictions, but only the HTTP layer sees the requests
/// refused before one starts (no key, over the rate limit, a body that is not JSON, an unknown output). It is the
/// outermost middleware, so it sees the status after every refusal and after the exception handler.
/// </summary>
internal sealed class ProtocolRequestCounting(RequestDelegate next, ServingMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        // Routing has chosen the endpoint before any middleware of the application runs.
        var protocol = context.GetEndpoint()?.Metadata.GetMetadata<ServingProtocolMetadata>();
        if (protocol is null)
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        catch
        {
            metrics.CountProtocolRequest(protocol.Protocol, context.RequestAborted.IsCancellationRequested ? ServingMetrics.Outcomes.Cancelled : ServingMetrics.Outcomes.Error);
            throw;
        }

        metrics.CountProtocolRequest(protocol.Protocol, context.RequestAborted.IsCancellationRequested ? ServingMetrics.Outcomes.Cancelled : Outcome(context.Response.StatusCode));
    }

    /// <summary>The outcome label of a response status: the one map from statuses to outcomes.</summary>
    public static string Outcome(int status) => status switch
    {
        < 400 => ServingMetrics.Outcomes.Success,
        StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => ServingMetrics.Outcomes.Unauthorized,
        StatusCodes.Status404NotFound => ServingMetrics.Outcomes.ModelNotFound,
        StatusCodes.Status429TooManyRequests => ServingMetrics.Outcomes.RateLimited,
        StatusCodes.Status503ServiceUnavailable => ServingMetrics.Outcomes.ModelUnavailable,
        < 500 => ServingMetrics.Outcomes.InvalidInput,
        _ => ServingMetrics.Outcomes.Error,
    };
}

internal static class ServingProtocolExtensions
{
    public static TBuilder CountsProtocolRequests<TBuilder>(this TBuilder builder, string protocol)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ServingProtocolMetadata(protocol));
}
