namespace TextClassification.Persistence.Entities;

/// <summary>
/// A movable name for one version of a model, such as <c>production</c>: callers predict through the alias and an
/// operator moves it to another version. The database refuses to delete a version an alias points at.
/// </summary>
public sealed class ModelAlias
{
    /// <summary>The model the alias belongs to.</summary>
    public required string ModelName { get; init; }

    /// <summary>The alias, <c>[a-z][a-z0-9._-]{0,63}</c>; never all digits, so it cannot be mistaken for a version.</summary>
    public required string Alias { get; init; }

    /// <summary>The version the alias points at now.</summary>
    public int Version { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
