using System.Text.Json.Nodes;
using TextClassification.Training.Sweeps;

namespace TextClassification.Training.Tests.Sweeps;

public sealed class SweepSamplerTests
{
    private static readonly SearchDimension LearningRate = new() { Name = "learning_rate", Kind = ParameterKind.Float, Low = 1e-4, High = 1, Log = true };
    private static readonly SearchDimension Dropout = new() { Name = "dropout", Kind = ParameterKind.Float, Low = 0, High = 0.9 };
    private static readonly SearchDimension Epochs = new() { Name = "epochs", Kind = ParameterKind.Int, Low = 2, High = 12 };
    private static readonly SearchDimension Schedule = new()
    {
        Name = "lr_schedule", Kind = ParameterKind.Categorical, Choices = [JsonValue.Create("linear"), JsonValue.Create("cosine"), JsonValue.Create("constant")],
    };

    /// <summary>A known objective, best (0) at learning rate 0.01, dropout 0.3 and the cosine schedule.</summary>
    private static double Objective(IReadOnlyDictionary<string, JsonNode> p) =>
        -Math.Pow(Math.Log10(Number(p["learning_rate"])) + 2, 2)
        - 4 * Math.Pow(Number(p["dropout"]) - 0.3, 2)
        - ((string)p["lr_schedule"]! == "cosine" ? 0 : 0.5);

    [Fact]
    public void A_grid_enumerates_every_combination_in_order_with_the_last_dimension_fastest()
    {
        var grid = new GridSampler([
            LearningRate with { Low = 0.001, High = 0.1, Points = 3 },
            new SearchDimension { Name = "epochs", Kind = ParameterKind.Int, Low = 2, High = 3 },
            Schedule with { Choices = [JsonValue.Create("linear"), JsonValue.Create("cosine")] },
        ]);

        Assert.Equal(12, grid.Capacity);
        var suggested = Enumerable.Range(0, 12).Select(n => grid.Suggest(n, [])).ToList();
        Assert.Equal(["learning_rate", "epochs", "lr_schedule"], suggested[0].Keys);
        var rates = suggested.Select(p => Number(p["learning_rate"])).ToList();
        // Evenly spaced on the log scale: 0.001, 0.01, 0.1, each held for four suggestions.
        Assert.Equal([0.001, 0.001, 0.001, 0.001, 0.01, 0.01, 0.01, 0.01, 0.1, 0.1, 0.1, 0.1], rates.Select(r => Math.Round(r, 6)));
        Assert.Equal([2, 2, 3, 3], suggested.Take(4).Select(p => (int)p["epochs"]!));
        Assert.Equal(["linear", "cosine", "linear", "cosine"], suggested.Take(4).Select(p => (string)p["lr_schedule"]!));
        Assert.Equal(12, suggested.Select(p => string.Join(",", p.Values.Select(v => v.ToJsonString()))).Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => grid.Suggest(12, []));
    }

    [Fact]
    public void Random_suggestions_stay_in_range_and_repeat_for_the_same_seed()
    {
        ISweepSampler Sampler(int seed) => new RandomSampler([LearningRate, Epochs, Schedule], seed);
        var first = Enumerable.Range(0, 50).Select(n => Sampler(7).Suggest(n, [])).ToList();
        var again = Enumerable.Range(0, 50).Select(n => Sampler(7).Suggest(n, [])).ToList();
        var other = Enumerable.Range(0, 50).Select(n => Sampler(8).Suggest(n, [])).ToList();

        Assert.Equal(first.Select(Text), again.Select(Text));
        Assert.NotEqual(first.Select(Text), other.Select(Text));
        Assert.All(first, p =>
        {
            Assert.InRange(Number(p["learning_rate"]), 1e-4, 1);
            Assert.InRange((int)p["epochs"]!, 2, 12);
            Assert.Contains((string)p["lr_schedule"]!, new[] { "linear", "cosine", "constant" });
        });
        // Both ends of an integer range come up, and a log range covers its decades alike.
        Assert.Contains(first, p => (int)p["epochs"]! == 2);
        Assert.Contains(first, p => (int)p["epochs"]! == 12);
        Assert.InRange(first.Count(p => Number(p["learning_rate"]) < 0.01), 15, 35);
    }

    [Fact]
    public void Tpe_repeats_for_the_same_seed_and_results_and_changes_with_the_results()
    {
        var space = new[] { LearningRate, Dropout, Schedule };
        var history = Run(new TpeSampler(space, 3, startupTrials: 5), 12);
        var scored = history.Select(p => new ScoredTrial(p, Objective(p))).ToList();

        string next = Text(new TpeSampler(space, 3, 5).Suggest(12, scored));
        Assert.Equal(next, Text(new TpeSampler(space, 3, 5).Suggest(12, scored)));
        var reversed = scored.Select(t => t with { Objective = -t.Objective }).ToList();
        Assert.NotEqual(next, Text(new TpeSampler(space, 3, 5).Suggest(12, reversed)));
        // Its start-up trials are the random sampler's.
        Assert.Equal(Text(new RandomSampler(space, 3).Suggest(2, [])), Text(history[2]));
    }

    [Fact]
    public void Tpe_concentrates_its_suggestions_near_the_optimum_where_random_search_does_not()
    {
        var space = new[] { LearningRate, Dropout, Schedule };
        for (int seed = 1; seed <= 3; seed++)
        {
            var tpe = Run(new TpeSampler(space, seed, startupTrials: 10), 50);
            var random = Run(new RandomSampler(space, seed), 50);

            // After the start-up trials, TPE's suggestions score far better on average than random ones, and more of
            // them fall near the optimum (learning rate within a factor of 3 of 0.01, dropout within 0.15 of 0.3).
            double tpeMean = tpe.Skip(20).Average(Objective);
            double randomMean = random.Skip(20).Average(Objective);
            Assert.True(tpeMean > randomMean + 0.5, $"seed {seed}: TPE {tpeMean:F3}, random {randomMean:F3}");
            int tpeNear = tpe.Skip(20).Count(Near);
            int randomNear = random.Skip(20).Count(Near);
            Assert.True(tpeNear >= 2 * Math.Max(randomNear, 2), $"seed {seed}: near the optimum TPE {tpeNear}, random {randomNear} of 30");
        }

        static bool Near(IReadOnlyDictionary<string, JsonNode> p) =>
            Math.Abs(Math.Log10(Number(p["learning_rate"])) + 2) < Math.Log10(3) && Math.Abs(Number(p["dropout"]) - 0.3) < 0.15;
    }

    [Fact]
    public void Successive_halving_lets_the_first_at_a_rung_go_on_and_stops_those_that_trail()
    {
        var halving = new SuccessiveHalving(MinEpochs: 1, ReductionFactor: 3);
        Assert.Equal([1, 3, 9, 27], Enumerable.Range(0, 30).Where(halving.IsRung));
        Assert.Null(halving.RungAtOrBelow(0));
        Assert.Equal(3, halving.RungAtOrBelow(8));
        Assert.Equal([2, 6, 18], Enumerable.Range(0, 30).Where(new SuccessiveHalving(2, 3).IsRung));

        Assert.False(halving.ShouldStop(0.2, []));                  // alone at the rung
        Assert.True(halving.ShouldStop(0.2, [0.5]));                // 2 reached it: only the best goes on
        Assert.False(halving.ShouldStop(0.5, [0.5]));               // a tie goes on
        Assert.True(halving.ShouldStop(0.6, [0.9, 0.8, 0.1, 0.2, 0.3])); // 6 reached it: the top 2 go on
        Assert.False(halving.ShouldStop(0.85, [0.9, 0.8, 0.1, 0.2, 0.3]));
    }

    /// <summary>Runs a sweep of <paramref name="trials"/> one after the other against <see cref="Objective"/>.</summary>
    private static List<IReadOnlyDictionary<string, JsonNode>> Run(ISweepSampler sampler, int trials)
    {
        var suggested = new List<IReadOnlyDictionary<string, JsonNode>>();
        var scored = new List<ScoredTrial>();
        for (int n = 0; n < trials; n++)
        {
            var parameters = sampler.Suggest(n, scored);
            suggested.Add(parameters);
            scored.Add(new ScoredTrial(parameters, Objective(parameters)));
        }

        return suggested;
    }

    private static double Number(JsonNode node) => double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    private static string Text(IReadOnlyDictionary<string, JsonNode> parameters) => string.Join(";", parameters.Select(p => $"{p.Key}={p.Value.ToJsonString()}"));
}
