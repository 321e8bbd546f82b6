using System.ComponentModel.DataAnnotations;

namespace TextClassification.Api.Security;

/// <summary>
/// Who may call the service and how much. Bound from the <c>Security</c> section:
/// <code>
/// "Security": {
///   "BootstrapAdminKey": null,
///   "AllowAnonymousPredictions": false,
///   "KeyCacheMilliseconds": 1000,
///   "RateLimit": { "PermitsPerSecond": 50, "Burst": 100 },
///   "MaxJsonBodyBytes": 1048576,
///   "Cors": { "AllowedOrigins": [ "https://support.example.com" ] }
/// }
/// </code>
/// </summary>
public sealed class SecurityOptions : IValidatableObject
{
    public const string SectionName = "Security";

    /// <summary>The shortest bootstrap key accepted: 32 characters of a random key carry well over 128 bits.</summary>
    public const int MinBootstrapKeyLength = 32;

    /// <summary>
    /// An admin key the operator chose (from a secret store), registered — as its hash — when the database has no
    /// key yet; ignored once any key exists. Without it, the first start makes a key and prints it to stdout once.
    /// </summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>Lets callers without a key predict (v1 predict, v2 infer, model ready and metadata). Off by default.</summary>
    public bool AllowAnonymousPredictions { get; set; }

    /// <summary>
    /// How long a key found valid is trusted without asking the database again (default 1 s; 0 looks every key up on
    /// every request). Revoking through this process takes effect on the next request whatever the value; other API
    /// processes see a revocation within this time. See <see cref="ApiKeyCache"/>.
    /// </summary>
    [Range(0, 60_000)]
    public int KeyCacheMilliseconds { get; set; } = 1000;

    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>The largest JSON request body accepted by endpoints other than predict and dataset upload (default 1 MiB).</summary>
    [Range(1024, int.MaxValue)]
    public long MaxJsonBodyBytes { get; set; } = 1L << 20;

    public CorsOptions Cors { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(BootstrapAdminKey) && (BootstrapAdminKey.Length < MinBootstrapKeyLength || BootstrapAdminKey.Any(char.IsWhiteSpace)))
        {
            yield return new ValidationResult(
                $"Security:BootstrapAdminKey must be at least {MinBootstrapKeyLength} characters without spaces; make one with `openssl rand -base64 32`.",
                [nameof(BootstrapAdminKey)]);
        }

        if (RateLimit.PermitsPerSecond < 0 || RateLimit.Burst < 1)
        {
            yield return new ValidationResult(
                "Security:RateLimit:PermitsPerSecond must be 0 (no limit) or more, and Security:RateLimit:Burst at least 1.", [nameof(RateLimit)]);
        }

        foreach (string origin in Cors.AllowedOrigins)
        {
            if (origin == "*" || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || origin.EndsWith('/'))
            {
                yield return new ValidationResult(
                    $"Security:Cors:AllowedOrigins lists '{origin}'; list origins such as https://support.example.com (scheme, host and port; no path, no '*').",
                    [nameof(Cors)]);
            }
        }
    }

    /// <summary>
    /// A token bucket per API key (callers without a key share one per remote address). 50 requests a second with
    /// bursts of 100 is far above what one customer-service backend sends (each request may carry up to
    /// <c>Inference:MaxInputsPerRequest</c> texts) and far below what takes the service down.
    /// </summary>
    public sealed class RateLimitOptions
    {
        /// <summary>Requests per second each key may make on average; 0 turns rate limiting off.</summary>
        public int PermitsPerSecond { get; set; } = 50;

        /// <summary>How many requests a key may make at once after a quiet spell (the bucket's size).</summary>
        public int Burst { get; set; } = 100;

        public bool Enabled => PermitsPerSecond > 0;
    }

    /// <summary>Cross-origin calls from browsers: none unless origins are listed.</summary>
    public sealed class CorsOptions
    {
        public string[] AllowedOrigins { get; set; } = [];
    }
}
