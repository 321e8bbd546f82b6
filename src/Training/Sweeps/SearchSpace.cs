using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace TextClassification.Training.Sweeps;

/// <summary>How a hyperparameter's values are drawn: any real number, whole numbers, or only from a list.</summary>
public enum ParameterKind
{
    Float,
    Int,
    Categorical,
}

/// <summary>
/// One searched hyperparameter: a list of <see cref="Choices"/>, or a range from <see cref="Low"/> to
/// <see cref="High"/> (both included) on a linear or log scale. <see cref="Points"/> gives a grid sweep the number of
/// evenly spaced values (on the scale) it tries in a range; a whole-number range without it tries every number.
/// </summary>
public sealed record SearchDimension
{
    public required string Name { get; init; }

    public required ParameterKind Kind { get; init; }

    public double Low { get; init; }

    public double High { get; init; }

    public bool Log { get; init; }

    public int? Points { get; init; }

    /// <summary>The values a categorical dimension picks from, as given (numbers or strings).</summary>
    public IReadOnlyList<JsonNode>? Choices { get; init; }

    [JsonIgnore]
    public bool IsRange => Choices is null;

    /// <summary>A value of the range on the scale the samplers work in: its logarithm on a log scale.</summary>
    internal double ToScale(double value) => Log ? Math.Log(value) : value;

    internal double FromScale(double scaled) => Log ? Math.Exp(scaled) : scaled;

    /// <summary>The range on the samplers' scale; whole numbers widen it by half a step each side so every number is as likely.</summary>
    internal (double Low, double High) ScaledBounds() =>
        Kind == ParameterKind.Int ? (ToScale(Low - 0.5), ToScale(High + 0.5)) : (ToScale(Low), ToScale(High));

    /// <summary>The value a point of the scaled range stands for, rounded and kept within the range.</summary>
    internal JsonNode ValueAt(double scaled)
    {
        double value = Math.Clamp(FromScale(scaled), Low, High);
        return Kind == ParameterKind.Int ? JsonValue.Create((int)Math.Round(value, MidpointRounding.AwayFromZero)) : JsonValue.Create(value);
    }

    /// <summary>The number a stored value stands for on the scaled range, or its index among the choices.</summary>
    internal double Encode(JsonNode value)
    {
        if (Choices is not null)
        {
            for (int i = 0; i < Choices.Count; i++)
            {
                if (JsonNode.DeepEquals(Choices[i], value))
                {
                    return i;
                }
            }

            return -1;
        }

        return ToScale(double.Parse(value.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>The hyperparameters a sweep may search, by their names as jobs show them, and how each is drawn.</summary>
public static class SearchableHyperparameters
{
    private static readonly Dictionary<string, ParameterKind> Kinds = new(StringComparer.Ordinal)
    {
        ["epochs"] = ParameterKind.Int,
        ["batch_size"] = ParameterKind.Int,
        ["learning_rate"] = ParameterKind.Float,
        ["weight_decay"] = ParameterKind.Float,
        ["dropout"] = ParameterKind.Float,
        ["max_sequence_length"] = ParameterKind.Int,
        ["warmup_ratio"] = ParameterKind.Float,
        ["lr_schedule"] = ParameterKind.Categorical,
        ["early_stopping_patience"] = ParameterKind.Int,
        ["label_smoothing"] = ParameterKind.Float,
        ["embedding_dim"] = ParameterKind.Int,
        ["train_layers"] = ParameterKind.Int,
        ["probe_epochs"] = ParameterKind.Int,
        ["probe_learning_rate"] = ParameterKind.Float,
    };

    /// <summary>Every searchable name; <c>seed</c> is not one: every trial trains with the base job's seed, so only the searched values differ.</summary>
    public static IEnumerable<string> Names => Kinds.Keys;

    public static bool TryGetKind(string name, out ParameterKind kind) => Kinds.TryGetValue(name, out kind);
}
