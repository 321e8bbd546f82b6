using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TextClassification.Api.Security;
using TextClassification.Persistence;

namespace TextClassification.Api.Endpoints;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>/health/live</c> answers while the process runs; <c>/health/ready</c> only while the database and Hangfire's
    /// storage answer, so a load balancer stops sending work to a process that cannot do it.
    /// </summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .WithTags("Health")
            .IsHealthProbe();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(PersistenceServiceCollectionExtensions.ReadinessTag),
            ResponseWriter = WriteAsync,
        }).WithTags("Health").IsHealthProbe();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new
                {
                    status = entry.Value.Status.ToString().ToLowerInvariant(),
                    description = entry.Value.Description,
                    duration_ms = entry.Value.Duration.TotalMilliseconds,
                }),
        });
    }
}
