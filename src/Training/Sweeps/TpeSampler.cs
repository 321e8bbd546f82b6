using System.Text.Json.Nodes;

namespace TextClassification.Training.Sweeps;

/// <summary>
/// The Tree-structured Parzen Estimator (Bergstra et al., 2011), after Optuna's univariate <c>TPESampler</c>: the
/// scored trials are split into the best few ("below", the top γ(n) = ⌈0.1·n⌉, at most 25) and the rest; each
/// dimension gets a Parzen density for each group, l(x) and g(x), a mixture of truncated normals around the observed
/// values plus a broad prior over the range; 24 candidates are drawn from l, and the one that maximises l(x)/g(x) is
/// suggested. The first <see cref="StartupTrials"/> trials (or while fewer than two are scored) are drawn at random,
/// as <see cref="RandomSampler"/> draws them.
/// </summary>
public sealed class TpeSampler(IReadOnlyList<SearchDimension> space, int seed, int startupTrials) : ISweepSampler
{
    /// <summary>Candidates drawn from l(x) per dimension (Optuna's <c>n_ei_candidates</c>).</summary>
    public const int Candidates = 24;

    /// <summary>The weight of the prior component among the observations' (Optuna's <c>prior_weight</c>).</summary>
    private const double PriorWeight = 1.0;

    public int StartupTrials => startupTrials;

    public long? Capacity => null;

    /// <summary>Optuna's default of 10 random trials, fewer for a small budget so that the model gets turns too.</summary>
    public static int StartupTrialsFor(int maxTrials) => Math.Clamp(maxTrials / 3, 2, 10);

    public IReadOnlyDictionary<string, JsonNode> Suggest(int number, IReadOnlyList<ScoredTrial> scored)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var random = SweepMethods.TrialRandom(seed, number);
        if (number < startupTrials || scored.Count < 2)
        {
            return space.ToDictionary(d => d.Name, d => RandomSampler.Draw(d, random), StringComparer.Ordinal);
        }

        // Best first; on a tie, the earlier (lower-numbered) trial, as the list comes in trial order.
        var ranked = scored.Select((trial, order) => (trial, order)).OrderByDescending(t => t.trial.Objective).ThenBy(t => t.order).Select(t => t.trial).ToList();
        int belowCount = Math.Min((int)Math.Ceiling(0.1 * ranked.Count), 25);
        var below = ranked.Take(belowCount).ToList();
        var above = ranked.Skip(belowCount).ToList();
        var parameters = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var dimension in space)
        {
            parameters[dimension.Name] = dimension.Choices is null
                ? SuggestNumber(dimension, Observed(dimension, below), Observed(dimension, above), random)
                : SuggestChoice(dimension, Observed(dimension, below), Observed(dimension, above), random);
        }

        return parameters;
    }

    private static List<double> Observed(SearchDimension dimension, List<ScoredTrial> trials) =>
        trials.Where(t => t.Parameters.ContainsKey(dimension.Name))
            .Select(t => dimension.Encode(t.Parameters[dimension.Name]))
            .Where(v => dimension.IsRange || v >= 0)
            .ToList();

    private static JsonNode SuggestNumber(SearchDimension dimension, List<double> below, List<double> above, Random random)
    {
        var (low, high) = dimension.ScaledBounds();
        var l = new ParzenEstimator(below, low, high);
        var g = new ParzenEstimator(above, low, high);
        double best = double.NaN;
        double bestScore = double.NegativeInfinity;
        for (int i = 0; i < Candidates; i++)
        {
            double candidate = l.Sample(random);
            double score = l.LogDensity(candidate) - g.LogDensity(candidate);
            if (score > bestScore)
            {
                (best, bestScore) = (candidate, score);
            }
        }

        return dimension.ValueAt(best);
    }

    private static JsonNode SuggestChoice(SearchDimension dimension, List<double> below, List<double> above, Random random)
    {
        int count = dimension.Choices!.Count;
        double[] l = CategoricalWeights(below, count);
        double[] g = CategoricalWeights(above, count);
        int best = 0;
        double bestScore = double.NegativeInfinity;
        for (int i = 0; i < Candidates; i++)
        {
            int candidate = Pick(l, random);
            double score = Math.Log(l[candidate]) - Math.Log(g[candidate]);
            if (score > bestScore)
            {
                (best, bestScore) = (candidate, score);
            }
        }

        return dimension.Choices[best].DeepClone();
    }

    /// <summary>Each choice's share of the observations, with the prior spread evenly over the choices.</summary>
    private static double[] CategoricalWeights(List<double> observed, int count)
    {
        var weights = Enumerable.Repeat(PriorWeight / count, count).ToArray();
        foreach (double index in observed)
        {
            if (index >= 0 && index < count)
            {
                weights[(int)index] += 1;
            }
        }

        double total = weights.Sum();
        return weights.Select(w => w / total).ToArray();
    }

    private static int Pick(double[] probabilities, Random random)
    {
        double u = random.NextDouble();
        for (int i = 0; i < probabilities.Length - 1; i++)
        {
            u -= probabilities[i];
            if (u < 0)
            {
                return i;
            }
        }

        return probabilities.Length - 1;
    }

    /// <summary>
    /// A mixture of normals truncated to [low, high]: one per observation, equally weighted, and the prior (centred,
    /// as wide as the range). Each observation's width is the larger gap to its sorted neighbours, clipped to
    /// [(high − low) / min(100, n + 1), high − low] (Optuna's "magic clip"), so that few observations give broad bumps
    /// and many give narrow ones.
    /// </summary>
    internal sealed class ParzenEstimator
    {
        private readonly double[] _mus;
        private readonly double[] _sigmas;
        private readonly double[] _weights;
        private readonly double _low;
        private readonly double _high;

        public ParzenEstimator(IReadOnlyList<double> observations, double low, double high)
        {
            _low = low;
            _high = high;
            double range = high - low;
            var mus = observations.Append((low + high) / 2).ToArray();
            int prior = mus.Length - 1;
            var order = Enumerable.Range(0, mus.Length).OrderBy(i => mus[i]).ToArray();
            var sigmas = new double[mus.Length];
            for (int k = 0; k < order.Length; k++)
            {
                double left = k > 0 ? mus[order[k]] - mus[order[k - 1]] : double.NegativeInfinity;
                double right = k < order.Length - 1 ? mus[order[k + 1]] - mus[order[k]] : double.NegativeInfinity;
                double gap = Math.Max(left, right);
                sigmas[order[k]] = double.IsNegativeInfinity(gap) ? range : gap;
            }

            double minimum = range / Math.Min(100.0, mus.Length);
            for (int i = 0; i < sigmas.Length; i++)
            {
                sigmas[i] = Math.Clamp(sigmas[i], minimum, range);
            }

            sigmas[prior] = range;
            _mus = mus;
            _sigmas = sigmas;
            _weights = Enumerable.Repeat(1.0, mus.Length).ToArray();
            _weights[prior] = PriorWeight;
            double total = _weights.Sum();
            for (int i = 0; i < _weights.Length; i++)
            {
                _weights[i] /= total;
            }
        }

        public double Sample(Random random)
        {
            int component = Pick(_weights, random);
            for (int attempt = 0; attempt < 100; attempt++)
            {
                double x = _mus[component] + _sigmas[component] * StandardNormal(random);
                if (x >= _low && x <= _high)
                {
                    return x;
                }
            }

            return Math.Clamp(_mus[component], _low, _high);
        }

        public double LogDensity(double x)
        {
            double density = 0;
            for (int i = 0; i < _mus.Length; i++)
            {
                double mass = NormalCdf((_high - _mus[i]) / _sigmas[i]) - NormalCdf((_low - _mus[i]) / _sigmas[i]);
                double z = (x - _mus[i]) / _sigmas[i];
                density += _weights[i] * Math.Exp(-0.5 * z * z) / (_sigmas[i] * Math.Sqrt(2 * Math.PI) * Math.Max(mass, 1e-12));
            }

            return Math.Log(Math.Max(density, 1e-300));
        }

        private static double StandardNormal(Random random)
        {
            // Box–Muller; 1 − u keeps the logarithm's argument above zero.
            double u = 1.0 - random.NextDouble();
            double v = random.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
        }

        private static double NormalCdf(double z) => 0.5 * (1 + Erf(z / Math.Sqrt(2)));

        /// <summary>The error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).</summary>
        private static double Erf(double x)
        {
            double sign = Math.Sign(x);
            x = Math.Abs(x);
            double t = 1 / (1 + 0.3275911 * x);
            double y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
            return sign * y;
        }
    }
}
