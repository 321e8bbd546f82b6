namespace TextClassification.Persistence.Entities;

/// <summary>What an API key may do. A key holds one or more scopes; <see cref="Admin"/> implies the others.</summary>
[Flags]
public enum ApiKeyScopes
{
    None = 0,

    /// <summary>Predictions and model metadata (<c>/v1/models</c> reads and predict, every <c>/v2</c> model endpoint).</summary>
    Predict = 1,

    /// <summary>Datasets, fine-tuning jobs and changes to the model registry (deleting versions, moving aliases).</summary>
    Train = 2,

    /// <summary>Everything, including API keys, the audit log, metrics and the Hangfire dashboard.</summary>
    Admin = 4,
}

/// <summary>
/// A caller's credential. The secret is shown once, when the key is made; the row keeps only its SHA-256, which is
/// enough to recognise the secret and useless for recovering it (the secret has 256 random bits, so a fast hash
/// cannot be brute-forced and a slow KDF would only slow every request down).
/// </summary>
public sealed class ApiKey
{
    /// <summary>Id prefix: <c>key_</c> followed by a ULID, so ids sort by creation.</summary>
    public const string IdPrefix = "key_";

    public required string Id { get; init; }

    /// <summary>What the key is for, in the operator's words (<c>support-bot production</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The first characters of the secret (<c>tcs_AbCd1234</c>), so a key can be recognised in a list or a leak report.</summary>
    public required string Prefix { get; init; }

    /// <summary>SHA-256 of the UTF-8 secret, 32 bytes; unique, and what every request is looked up by.</summary>
    public required byte[] SecretHash { get; init; }

    public ApiKeyScopes Scopes { get; init; }

    /// <summary>Who made the key: another key's id, or <c>bootstrap</c> for the first admin key.</summary>
    public required string CreatedBy { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>After this instant the key is refused; null for a key that does not expire.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the key was revoked; a revoked key is refused from the next request on.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>
    /// The key's own rate limit, in requests per second on average (0: none for this key); null where the configured
    /// default applies (<c>Security:RateLimit</c>).
    /// </summary>
    public int? RateLimitRequestsPerSecond { get; set; }

    /// <summary>How many requests the key may make at once after a quiet spell; set together with <see cref="RateLimitRequestsPerSecond"/>.</summary>
    public int? RateLimitBurst { get; set; }

    /// <summary>The last request the key authenticated, updated at most once a minute so that serving stays read-only.</summary>
    public DateTimeOffset? LastUsedAt { get; set; }
}
