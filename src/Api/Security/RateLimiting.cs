using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Prometheus;
using TextClassification.Api.Problems;
using TextClassification.Inference;

namespace TextClassification.Api.Security;

/// <summary>
/// A token bucket per API key, sized by the key's own <c>rate_limit</c> or else <c>Security:RateLimit</c>'s default,
/// or per remote address for callers without a valid key. Over the limit: 429 with <c>Retry-After</c>, counted in
/// <c>api_rate_limited_requests_total</c> by key id (<c>anonymous</c> for callers without one).
/// </summary>
internal static class RateLimiting
{
    public const string PolicyName = "per-key";
    public const string AnonymousKeyLabel = "anonymous";

    /// <summary>
    /// One bucket per caller and limit: a key whose limit changes gets a fresh bucket at its new size, and the old
    /// one is dropped by the limiter once idle.
    /// </summary>
    private readonly record struct Bucket(string Caller, RateLimit Limit);

    public static void Configure(RateLimiterOptions options, SecurityOptions security, ServingMetrics metrics)
    {
        var limits = security.RateLimit;
        var refused = Metrics.WithCustomRegistry(metrics.Registry).CreateCounter(
            "api_rate_limited_requests_total", "Requests refused with 429 by the per-key rate limit, by key id (anonymous: callers without a key).",
            new CounterConfiguration { LabelNames = ["key_id"] });

        options.AddPolicy(PolicyName, context =>
        {
            var bucket = context.Features.Get<AuthenticatedApiKey>() is { } key
                ? new Bucket(key.KeyId, key.RateLimit ?? limits.Default)
                : new Bucket("address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"), limits.Anonymous);
            return bucket.Limit.Limits
                ? RateLimitPartition.GetTokenBucketLimiter(bucket, static b => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = b.Limit.Burst,
                    TokensPerPeriod = b.Limit.RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                })
                : RateLimitPartition.GetNoLimiter(bucket);
        });

        options.OnRejected = async (context, cancellationToken) =>
        {
            int seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
                ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
                : 1;
            var key = context.HttpContext.Features.Get<AuthenticatedApiKey>();
            refused.WithLabels(key?.KeyId ?? AnonymousKeyLabel).Inc();
            context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var (who, limit, setting) = key switch
            {
                null => ("Callers without a key at this address have made more requests than their", limits.Anonymous, "Security:RateLimit:AnonymousPermitsPerSecond"),
                { RateLimit: { } own } => ("This key has made more requests than its", own, "the key's rate_limit"),
                _ => ("This key has made more requests than its", limits.Default, "Security:RateLimit:PermitsPerSecond, the default for keys without a rate_limit"),
            };
            await ErrorResponses.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too many requests.", string.Create(
                CultureInfo.InvariantCulture,
                $"{who} limit of {limit.RequestsPerSecond} a second, bursts of {limit.Burst} ({setting}); retry after {seconds} s."));
        };
    }
}
