using TextClassification.Api.Problems;
using TextClassification.Inference;

namespace TextClassification.Api.Hosting;

/// <summary>
/// Counts every request a serving protocol carries, with its outcome, in <c>inference_protocol_requests_total</c>:
/// the data plane counts predictions, but only the HTTP layer sees the requests refused before one starts (a body
/// that is not JSON, an unknown output).
/// </summary>
internal static class ProtocolRequestCounting
{
    public static TBuilder CountsProtocolRequests<TBuilder>(this TBuilder builder, string protocol)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var metrics = context.HttpContext.RequestServices.GetRequiredService<ServingMetrics>();
            try
            {
                var result = await next(context);
                metrics.CountProtocolRequest(protocol, result is IStatusCodeHttpResult { StatusCode: { } status } ? Outcome(status) : ServingMetrics.Outcomes.Success);
                return result;
            }
            catch (Exception e)
            {
                metrics.CountProtocolRequest(protocol, Outcome(e));
                throw;
            }
        });

    private static string Outcome(int status) => status switch
    {
        < 400 => ServingMetrics.Outcomes.Success,
        StatusCodes.Status404NotFound => ServingMetrics.Outcomes.ModelNotFound,
        StatusCodes.Status503ServiceUnavailable => ServingMetrics.Outcomes.ModelUnavailable,
        < 500 => ServingMetrics.Outcomes.InvalidInput,
        _ => ServingMetrics.Outcomes.Error,
    };

    private static string Outcome(Exception exception) => exception switch
    {
        InvalidInputException or BadHttpRequestException => ServingMetrics.Outcomes.InvalidInput,
        ModelNotFoundException => ServingMetrics.Outcomes.ModelNotFound,
        ModelUnavailableException => ServingMetrics.Outcomes.ModelUnavailable,
        ApiProblemException problem => Outcome(problem.Status),
        OperationCanceledException => ServingMetrics.Outcomes.Cancelled,
        _ => ServingMetrics.Outcomes.Error,
    };
}
