namespace TextClassification.Api.Security;

/// <summary>
/// Marks a health probe: open to everyone and never authenticated, even when the caller sends a key. A probe must
/// answer from what it checks alone; looking the key up would make readiness fail with a 500 from the key lookup
/// whenever the database it is meant to report on is down.
/// </summary>
internal sealed class HealthProbeMetadata
{
    public static readonly HealthProbeMetadata Instance = new();
}

internal static class HealthProbeExtensions
{
    /// <summary>Opens the endpoint to callers without a key and skips authentication for it altogether.</summary>
    public static TBuilder IsHealthProbe<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AllowAnonymous().WithMetadata(HealthProbeMetadata.Instance);
}
