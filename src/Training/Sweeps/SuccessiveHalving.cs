namespace TextClassification.Training.Sweeps;

/// <summary>
/// Early stopping across a sweep's trials, in the manner of ASHA (asynchronous successive halving, Li et al., 2020)
/// and Optuna's <c>SuccessiveHalvingPruner</c>: the rungs are the epochs <c>min_epochs · η^k</c>; a trial that reaches
/// a rung goes on only if its objective there is among the top ⌊n / η⌋ (at least one) of the n trials that reached
/// that rung so far, itself included. So the first trial at a rung always goes on, and a later one that trails it is
/// stopped at once.
/// </summary>
/// <param name="MinEpochs">The first rung: no trial is judged before it has trained this many epochs.</param>
/// <param name="ReductionFactor">η: at each rung, about one trial in η goes on.</param>
public sealed record SuccessiveHalving(int MinEpochs, int ReductionFactor)
{
    public static SuccessiveHalving Default { get; } = new(1, 3);

    /// <summary>Whether <paramref name="epoch"/> is a rung.</summary>
    public bool IsRung(int epoch)
    {
        if (epoch < MinEpochs || epoch % MinEpochs != 0)
        {
            return false;
        }

        for (long rung = MinEpochs; rung <= epoch; rung *= ReductionFactor)
        {
            if (rung == epoch)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The highest rung at or below <paramref name="epoch"/>, or null before the first.</summary>
    public int? RungAtOrBelow(int epoch)
    {
        int? found = null;
        for (long rung = MinEpochs; rung <= epoch; rung *= ReductionFactor)
        {
            found = (int)rung;
        }

        return found;
    }

    /// <summary>
    /// Whether a trial whose objective at a rung is <paramref name="value"/> stops, given the objectives there of
    /// the other trials that reached it (<paramref name="others"/>). Higher is better.
    /// </summary>
    public bool ShouldStop(double value, IReadOnlyCollection<double> others)
    {
        ArgumentNullException.ThrowIfNull(others);
        int reached = others.Count + 1;
        int goOn = Math.Max(1, reached / ReductionFactor);
        // Ties go the trial's way: it stops only when at least goOn others are strictly better.
        return others.Count(o => o > value) >= goOn;
    }
}
