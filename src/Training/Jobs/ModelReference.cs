using System.Globalization;
using System.Text.RegularExpressions;

namespace TextClassification.Training.Jobs;

/// <summary>A registered model version named as <c>name:version</c>, such as <c>support-intents:3</c>.</summary>
public sealed partial record ModelReference(string Name, int Version)
{
    /// <summary>True when <paramref name="name"/> is a valid registry name: 1–64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static bool TryParse(string value, out ModelReference reference)
    {
        int colon = value.LastIndexOf(':');
        if (colon > 0
            && IsValidName(value[..colon])
            && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int version)
            && version >= 1)
        {
            reference = new ModelReference(value[..colon], version);
            return true;
        }

        reference = null!;
        return false;
    }

    public override string ToString() => $"{Name}:{Version}";

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
