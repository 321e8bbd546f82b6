namespace TextClassification.Inference.Registry;

/// <summary>Which model version a request wants.</summary>
/// <param name="Name">The registry name.</param>
/// <param name="Version">
/// An explicit version; null for the version the default alias (<see cref="InferenceOptions.DefaultAlias"/>, normally
/// <c>production</c>) points at, or the latest version when the model has no such alias.
/// </param>
public sealed record ModelSelector(string Name, int? Version = null)
{
    public override string ToString() => Version is { } version ? $"{Name}:{version}" : Name;
}
