using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace TextClassification.Api.Security;

/// <summary>
/// A token bucket per API key id, or per remote address for callers without a key (anonymous predictions, and
/// refused attempts). Over the limit: 429 with <c>Retry-After</c>.
/// </summary>
internal static class RateLimiting
{
    public const string PolicyName = "per-key";

    public static void Configure(RateLimiterOptions options)
    {
        options.AddPolicy(PolicyName, context =>
        {
            var limits = context.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value.RateLimit;
            if (!limits.Enabled)
            {
                return RateLimitPartition.GetNoLimiter("off");
            }

            string partition = context.User.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value
                ?? "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = limits.Burst,
                TokensPerPeriod = limits.PermitsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });

        options.OnRejected = async (context, cancellationToken) =>
        {
            int seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
                ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
                : 1;
            context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await SecurityResponses.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests.",
                $"This key has used its requests for now (Security:RateLimit); retry after {seconds} s.");
        };
    }
}
