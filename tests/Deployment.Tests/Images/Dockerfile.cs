using System.Text.RegularExpressions;
using TextClassification.TestSupport;

namespace TextClassification.Deployment.Tests.Images;

/// <summary>deploy/Dockerfile read as instructions (continuation lines joined, comments dropped), grouped by stage.</summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyDictionary<string, string?> globalArguments, IReadOnlyList<Stage> stages)
    {
        GlobalArguments = globalArguments;
        Stages = stages;
    }

    /// <summary>The ARGs before the first FROM, with their defaults.</summary>
    public IReadOnlyDictionary<string, string?> GlobalArguments { get; }

    public IReadOnlyList<Stage> Stages { get; }

    public Stage Final => Stages[^1];

    public Stage this[string name] => Stages.Single(stage => stage.Name == name);

    public static Dockerfile Load() => Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "deploy", "Dockerfile")));

    public static Dockerfile Parse(string text)
    {
        var instructions = new List<Instruction>();
        string pending = "";
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            string whole = (pending + line).Trim();
            pending = "";
            if (whole.Length > 0)
            {
                int space = whole.IndexOf(' ', StringComparison.Ordinal);
                instructions.Add(new Instruction(whole[..space].ToUpperInvariant(), Regex.Replace(whole[(space + 1)..], @"\s+", " ").Trim()));
            }
        }

        var globals = new Dictionary<string, string?>(StringComparer.Ordinal);
        var stages = new List<Stage>();
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                var from = FromPattern().Match(instruction.Arguments);
                stages.Add(new Stage(from.Groups["image"].Value, from.Groups["name"].Success ? from.Groups["name"].Value : null, []));
            }
            else if (stages.Count == 0)
            {
                Assert.Equal("ARG", instruction.Keyword);
                var argument = ArgPattern().Match(instruction.Arguments);
                globals[argument.Groups["name"].Value] = argument.Groups["value"].Success ? argument.Groups["value"].Value : null;
            }
            else
            {
                stages[^1].Instructions.Add(instruction);
            }
        }

        return new Dockerfile(globals, stages);
    }

    /// <summary>An image reference with <c>${NAME}</c> replaced by the global ARG's default.</summary>
    public string Resolve(string image) =>
        VariablePattern().Replace(image, match => GlobalArguments.TryGetValue(match.Groups[1].Value, out string? value) && value is not null ? value : match.Value);

    [GeneratedRegex(@"^(?<image>\S+)(\s+AS\s+(?<name>\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex FromPattern();

    [GeneratedRegex(@"^(?<name>\w+)(=(?<value>\S+))?$")]
    private static partial Regex ArgPattern();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex VariablePattern();

    internal sealed record Instruction(string Keyword, string Arguments)
    {
        public override string ToString() => $"{Keyword} {Arguments}";
    }

    internal sealed record Stage(string Image, string? Name, List<Instruction> Instructions)
    {
        public int IndexOf(Func<Instruction, bool> predicate) => Instructions.FindIndex(instruction => predicate(instruction));
    }
}
