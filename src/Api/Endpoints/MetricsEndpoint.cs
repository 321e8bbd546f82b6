using TextClassification.Api.Hosting;
using TextClassification.Api.Security;
using TextClassification.Inference;

namespace TextClassification.Api.Endpoints;

/// <summary><c>GET /metrics</c>: the serving metrics in Prometheus' text exposition format.</summary>
internal static class MetricsEndpoint
{
    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", WriteAsync)
            .WithTags("Health")
            .RequireScope(ApiScopes.AdminPolicy)
            .WithName("Metrics")
            .WithSummary("Serving metrics for Prometheus: requests, errors, latency, batch sizes, queue and compute time, loaded models")
            .Produces(StatusCodes.Status200OK, contentType: "text/plain")
            .WithResponseExample(StatusCodes.Status200OK, "# TYPE textclassification_requests_total counter\ntextclassification_requests_total{model=\"support-intents\",version=\"2\",outcome=\"ok\"} 1042\n");
        return app;
    }

    private static async Task WriteAsync(HttpContext context, ServingMetrics metrics, CancellationToken cancellationToken)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, cancellationToken);
    }
}
