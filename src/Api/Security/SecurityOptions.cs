using System.ComponentModel.DataAnnotations;

namespace TextClassification.Api.Security;

/// <summary>
/// Who may call the service and how much. Bound from the <c>Security</c> section:
/// <code>
/// "Security": {
///   "BootstrapAdminKey": null,
///   "AllowAnonymousPredictions": false,
///   "KeyCacheMilliseconds": 1000,
///   "RateLimit": { "PermitsPerSecond": 10000, "Burst": 20000, "AnonymousPermitsPerSecond": 50, "AnonymousBurst": 100 },
///   "MaxJsonBodyBytes": 1048576,
///   "Cors": { "AllowedOrigins": [ "https://support.example.com" ] },
///   "ForwardedHeaders": { "KnownProxies": [ "10.0.0.5" ], "KnownNetworks": [ "10.1.0.0/16" ] }
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

    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(BootstrapAdminKey) && (BootstrapAdminKey.Length < MinBootstrapKeyLength || BootstrapAdminKey.Any(char.IsWhiteSpace)))
        {
            yield return new ValidationResult(
                $"Security:BootstrapAdminKey must be at least {MinBootstrapKeyLength} characters without spaces; make one with `openssl rand -base64 32`.",
                [nameof(BootstrapAdminKey)]);
        }

        if (RateLimit.PermitsPerSecond < 0 || RateLimit.Burst < 1 || RateLimit.AnonymousPermitsPerSecond < 0 || RateLimit.AnonymousBurst < 1)
        {
            yield return new ValidationResult(
                "Security:RateLimit:PermitsPerSecond and AnonymousPermitsPerSecond must be 0 (no limit) or more, and Burst and AnonymousBurst at least 1.",
                [nameof(RateLimit)]);
        }

        foreach (string proxy in ForwardedHeaders.KnownProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _))
            {
                yield return new ValidationResult(
                    $"Security:ForwardedHeaders:KnownProxies lists '{proxy}', which is not an IP address (such as 10.0.0.5 or ::1).", [nameof(ForwardedHeaders)]);
            }
        }

        foreach (string network in ForwardedHeaders.KnownNetworks)
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                yield return new ValidationResult(
                    $"Security:ForwardedHeaders:KnownNetworks lists '{network}', which is not a network in CIDR notation (such as 10.1.0.0/16).", [nameof(ForwardedHeaders)]);
            }
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
    /// Token buckets, per process: one per API key, and one per remote address for callers without a valid key
    /// (anonymous predictions where they are allowed, and refused attempts). A key's own limit (<c>rate_limit</c>,
    /// set when it is made or with <c>PATCH /v1/api-keys/{id}</c>) replaces the default for that key.
    /// </summary>
    /// <remarks>
    /// The default per key, 10,000 requests a second with bursts of 20,000, is above what one backend sending one
    /// request at a time reaches against one process (about 5,000 a second on loopback on two cores): a backend's
    /// ordinary traffic, or a first load test of it, is never refused by default. What it stops is one key with many
    /// connections taking a whole process from every other caller; keys of tenants who share a service get limits of
    /// their own. Callers without a key get far less (50 a second, bursts of 100, per address): those are the
    /// unauthenticated, including anyone guessing keys.
    /// </remarks>
    public sealed class RateLimitOptions
    {
        /// <summary>Requests per second a key without a limit of its own may make on average; 0: no default limit.</summary>
        public int PermitsPerSecond { get; set; } = 10_000;

        /// <summary>How many requests such a key may make at once after a quiet spell (the bucket's size).</summary>
        public int Burst { get; set; } = 20_000;

        /// <summary>Requests per second per remote address for callers without a valid key; 0: no limit.</summary>
        public int AnonymousPermitsPerSecond { get; set; } = 50;

        /// <summary>The bucket size per remote address for callers without a valid key.</summary>
        public int AnonymousBurst { get; set; } = 100;

        /// <summary>The limit of a key without one of its own.</summary>
        public RateLimit Default => new(PermitsPerSecond, Burst);

        /// <summary>The limit of each remote address without a valid key.</summary>
        public RateLimit Anonymous => new(AnonymousPermitsPerSecond, AnonymousBurst);
    }

    /// <summary>
    /// The reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed. Behind one, every
    /// request comes from the proxy's address: the audit log and the per-address rate limit would see only the
    /// proxy. None are listed by default, and then the headers are ignored from everyone (a client could otherwise
    /// claim any address); loopback is not trusted unless listed.
    /// </summary>
    public sealed class ForwardedHeadersSettings
    {
        /// <summary>Addresses of trusted proxies, such as <c>10.0.0.5</c> or <c>::1</c>.</summary>
        public string[] KnownProxies { get; set; } = [];

        /// <summary>Networks of trusted proxies in CIDR notation, such as <c>10.1.0.0/16</c>.</summary>
        public string[] KnownNetworks { get; set; } = [];

        public bool Enabled => KnownProxies.Length > 0 || KnownNetworks.Length > 0;
    }

    /// <summary>Cross-origin calls from browsers: none unless origins are listed.</summary>
    public sealed class CorsOptions
    {
        public string[] AllowedOrigins { get; set; } = [];
    }
}
