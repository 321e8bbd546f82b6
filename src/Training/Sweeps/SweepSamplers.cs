using System.Text.Json.Nodes;

namespace TextClassification.Training.Sweeps;

/// <summary>A trial that has a result to learn from: its parameters and its objective (higher is better).</summary>
public sealed record ScoredTrial(IReadOnlyDictionary<string, JsonNode> Parameters, double Objective);

/// <summary>
/// Suggests the parameters of a sweep's next trial. Suggestions are a function of the sweep's seed, the trial's
/// number and the scored trials so far, and nothing else: a seeded sweep that sees the same results suggests the
/// same parameters.
/// </summary>
public interface ISweepSampler
{
    /// <summary>How many trials the sampler can suggest at most (a grid's size), or null when it never runs out.</summary>
    long? Capacity { get; }

    /// <summary>The parameters of trial <paramref name="number"/> (0, 1, 2...), one value per dimension, in the space's order.</summary>
    IReadOnlyDictionary<string, JsonNode> Suggest(int number, IReadOnlyList<ScoredTrial> scored);
}

/// <summary>The sweep methods by the names requests use.</summary>
public static class SweepMethods
{
    public const string Grid = "grid";
    public const string Random = "random";
    public const string Tpe = "tpe";

    public static IReadOnlyList<string> All { get; } = [Grid, Random, Tpe];

    public static ISweepSampler Create(string method, IReadOnlyList<SearchDimension> space, int seed, int maxTrials) => method switch
    {
        Grid => new GridSampler(space),
        Random => new RandomSampler(space, seed),
        Tpe => new TpeSampler(space, seed, TpeSampler.StartupTrialsFor(maxTrials)),
        _ => throw new ArgumentException($"Unknown sweep method '{method}'.", nameof(method)),
    };

    /// <summary>The generator of one trial's draws: its own stream, so that a trial's values do not depend on how many draws earlier trials made.</summary>
    internal static Random TrialRandom(int seed, int number) => new(unchecked((seed * 1_000_003) ^ (number * 7_919) ^ 0x5eed));
}

/// <summary>
/// Every combination of the dimensions' values, in order: the first dimension changes slowest, the last fastest.
/// A range gives its <see cref="SearchDimension.Points"/> evenly spaced values (every whole number of an integer
/// range without them).
/// </summary>
public sealed class GridSampler : ISweepSampler
{
    private readonly IReadOnlyList<SearchDimension> _space;
    private readonly List<IReadOnlyList<JsonNode>> _values;

    public GridSampler(IReadOnlyList<SearchDimension> space)
    {
        ArgumentNullException.ThrowIfNull(space);
        _space = space;
        _values = space.Select(ValuesOf).ToList();
        Capacity = _values.Aggregate(1L, (size, values) => size > int.MaxValue ? size : size * values.Count);
    }

    public long? Capacity { get; }

    /// <summary>The values a grid tries for one dimension, in increasing order for a range.</summary>
    public static IReadOnlyList<JsonNode> ValuesOf(SearchDimension dimension)
    {
        ArgumentNullException.ThrowIfNull(dimension);
        if (dimension.Choices is { } choices)
        {
            return choices;
        }

        if (dimension.Points is not { } points)
        {
            // Only whole-number ranges come without points (the request checks); every number, capped for safety.
            long count = Math.Min((long)dimension.High - (long)dimension.Low + 1, 100_000);
            return Enumerable.Range(0, (int)count).Select(i => (JsonNode)JsonValue.Create((int)dimension.Low + i)).ToList();
        }

        double low = dimension.ToScale(dimension.Low);
        double high = dimension.ToScale(dimension.High);
        var values = new List<JsonNode>();
        for (int i = 0; i < points; i++)
        {
            double scaled = points == 1 ? low : low + (high - low) * i / (points - 1);
            var value = dimension.ValueAt(scaled);
            if (!values.Any(v => JsonNode.DeepEquals(v, value)))
            {
                values.Add(value);
            }
        }

        return values;
    }

    public IReadOnlyDictionary<string, JsonNode> Suggest(int number, IReadOnlyList<ScoredTrial> scored)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        if (number >= Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(number), $"The grid has {Capacity} combinations.");
        }

        var parameters = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        long rest = number;
        for (int d = _space.Count - 1; d >= 0; d--)
        {
            var values = _values[d];
            parameters[_space[d].Name] = values[(int)(rest % values.Count)].DeepClone();
            rest /= values.Count;
        }

        return _space.ToDictionary(d => d.Name, d => parameters[d.Name], StringComparer.Ordinal);
    }
}

/// <summary>Each value drawn uniformly on its scale (a log range uniformly in its logarithm), each choice equally likely.</summary>
public sealed class RandomSampler(IReadOnlyList<SearchDimension> space, int seed) : ISweepSampler
{
    public long? Capacity => null;

    public IReadOnlyDictionary<string, JsonNode> Suggest(int number, IReadOnlyList<ScoredTrial> scored)
    {
        var random = SweepMethods.TrialRandom(seed, number);
        return space.ToDictionary(d => d.Name, d => Draw(d, random), StringComparer.Ordinal);
    }

    internal static JsonNode Draw(SearchDimension dimension, Random random)
    {
        if (dimension.Choices is { } choices)
        {
            return choices[random.Next(choices.Count)].DeepClone();
        }

        var (low, high) = dimension.ScaledBounds();
        return dimension.ValueAt(low + (high - low) * random.NextDouble());
    }
}
