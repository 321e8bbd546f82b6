using Hangfire;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TextClassification.Training.Jobs;

/// <summary>Ready only while Hangfire's storage answers: without it no job can be enqueued or picked up.</summary>
internal sealed class HangfireStorageHealthCheck(JobStorage storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // The statistics query reads the storage's tables, so it fails when the database is unreachable.
            var statistics = await Task.Run(() => storage.GetMonitoringApi().GetStatistics(), cancellationToken);
            return HealthCheckResult.Healthy(data: new Dictionary<string, object>
            {
                ["enqueued"] = statistics.Enqueued,
                ["processing"] = statistics.Processing,
                ["servers"] = statistics.Servers,
            });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("Hangfire storage is unreachable.", e);
        }
    }
}
