using System.Globalization;
using System.Text.RegularExpressions;
using TextClassification.TestSupport;

namespace TextClassification.Deployment.Tests;

/// <summary>
/// The settings the service reads, taken from its options classes' source (each has <c>SectionName</c> and one
/// property per key), so that a deployment file naming a setting that does not exist, or giving an enum setting a
/// value it does not have, fails here instead of being ignored by the configuration binder at run time. Read from the
/// source rather than by reflection so that this project stays free of TorchSharp and ONNX Runtime.
/// </summary>
internal sealed partial class ServiceSettings
{
    private readonly Dictionary<string, Dictionary<string, string>> sections;
    private readonly Dictionary<string, string[]> enums;
    private readonly Dictionary<string, string> sources;

    private ServiceSettings(Dictionary<string, Dictionary<string, string>> sections, Dictionary<string, string[]> enums, Dictionary<string, string> sources)
    {
        this.sections = sections;
        this.enums = enums;
        this.sources = sources;
    }

    public static ServiceSettings Read()
    {
        var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        var enums = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var sources = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string path in Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            if (path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            string source = File.ReadAllText(path);
            foreach (Match match in EnumDeclaration().Matches(source))
            {
                enums[match.Groups["name"].Value] = EnumMember().Matches(StripComments(match.Groups["body"].Value))
                    .Select(member => member.Groups[1].Value)
                    .ToArray();
            }

            var section = SectionName().Match(source);
            if (section.Success)
            {
                // Members of the options class itself are indented once (file-scoped namespaces); nested classes' deeper.
                sections[section.Groups[1].Value] = TopLevelProperty().Matches(source)
                    .ToDictionary(p => p.Groups["name"].Value, p => p.Groups["type"].Value.TrimEnd('?'), StringComparer.OrdinalIgnoreCase);
                sources[section.Groups[1].Value] = source;
            }
        }

        Assert.True(sections.Count >= 5, $"Found only {sections.Count} options classes under src/; has the SectionName convention changed?");
        return new ServiceSettings(sections, enums, sources);
    }

    /// <summary>Why the environment variable <paramref name="name"/> set to <paramref name="value"/> is not a setting the service reads; null when it is.</summary>
    public string? Problem(string name, string? value)
    {
        // ASP.NET Core's and .NET's own variables, and logging, which the host configures from its own section.
        if (name.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || name.StartsWith("DOTNET_", StringComparison.Ordinal)
            || name.StartsWith("Logging__", StringComparison.Ordinal))
        {
            return null;
        }

        string[] parts = name.Split("__");
        if (parts.Length < 2)
        {
            return $"{name} is not a Section__Key setting";
        }

        if (!sections.TryGetValue(parts[0], out var keys))
        {
            return $"{name}: the service has no '{parts[0]}' section (sections: {string.Join(", ", sections.Keys.Order())})";
        }

        if (!keys.TryGetValue(parts[1], out string? type))
        {
            return $"{name}: section '{parts[0]}' has no key '{parts[1]}' (keys: {string.Join(", ", keys.Keys.Order())})";
        }

        if (parts.Length > 2 || value is null)
        {
            return null;
        }

        if (enums.TryGetValue(type, out string[]? members) && !members.Contains(value, StringComparer.OrdinalIgnoreCase))
        {
            return $"{name}={value}: {type} has only {string.Join(", ", members)}";
        }

        if (type is "int" or "long" && !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            return $"{name}={value}: not a whole number";
        }

        if (type is "bool" && !bool.TryParse(value, out _))
        {
            return $"{name}={value}: not true or false";
        }

        return null;
    }

    /// <summary>The default of an integer setting, as its options class initialises it.</summary>
    public int IntegerDefault(string section, string key)
    {
        var initialiser = new Regex($@"public\s+int\s+{Regex.Escape(key)}\s*\{{\s*get;\s*set;\s*\}}\s*=\s*(?<value>[0-9_]+)\s*;");
        var match = initialiser.Match(sources[section]);
        Assert.True(match.Success, $"{section}:{key} has no integer default in its options class.");
        return int.Parse(match.Groups["value"].Value.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
    }

    private static string StripComments(string code) => LineComment().Replace(code, "");

    [GeneratedRegex(@"const\s+string\s+SectionName\s*=\s*""(\w+)""")]
    private static partial Regex SectionName();

    [GeneratedRegex(@"^    public\s+(?<type>[\w.<>\[\]?]+)\s+(?<name>\w+)\s*\{\s*get;\s*set;", RegexOptions.Multiline)]
    private static partial Regex TopLevelProperty();

    [GeneratedRegex(@"\benum\s+(?<name>\w+)\s*\{(?<body>[^}]*)\}")]
    private static partial Regex EnumDeclaration();

    [GeneratedRegex(@"^\s*(\w+)\s*(?:=\s*[^,]+)?,?\s*$", RegexOptions.Multiline)]
    private static partial Regex EnumMember();

    [GeneratedRegex(@"//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();
}
