namespace TextClassification.Training.Loop;

/// <summary>What the threshold search maximises on the validation rows.</summary>
public enum ThresholdObjective
{
    /// <summary>
    /// The mean of in-scope accuracy and out-of-scope recall: both kinds of mistake weigh the same however few
    /// out-of-scope rows the validation data has.
    /// </summary>
    Balanced,

    /// <summary>
    /// Accuracy over all rows with "out of scope" counted as one more label: each row weighs the same, so with few
    /// out-of-scope rows the threshold stays low and in-scope accuracy is kept.
    /// </summary>
    Accuracy,
}

/// <summary>A threshold and what it achieved on the rows it was chosen on.</summary>
public sealed record ThresholdChoice(double Threshold, double InScopeAccuracy, double OutOfScopeRecall, double Objective);

/// <summary>
/// Chooses the top-probability threshold below which a prediction becomes "out of scope" (Larson et al. 2019,
/// "oos-threshold": the out-of-scope label is not a class; the threshold is picked on validation data).
/// </summary>
public static class OutOfScopeThreshold
{
    /// <summary>
    /// The objective jobs use. Accuracy over all validation rows keeps in-scope accuracy close to what the classifier
    /// has without a threshold (as in the paper's oos-threshold results), while Balanced gives up several points of
    /// in-scope accuracy for out-of-scope recall; see docs/benchmarks.md for both on CLINC150.
    /// </summary>
    public const ThresholdObjective DefaultObjective = ThresholdObjective.Accuracy;

    /// <summary>
    /// Tries every threshold that changes a decision (midway between consecutive distinct confidences, plus 0) and
    /// keeps the one with the best <paramref name="objective"/>; ties go to the lowest threshold, which costs in-scope
    /// rows least. Without out-of-scope rows there is nothing to trade against, and the threshold is 0.
    /// </summary>
    /// <param name="confidence">Top softmax probability of each validation row.</param>
    /// <param name="correct">Whether each row's arg-max label is its true label (always false for out-of-scope rows).</param>
    /// <param name="outOfScope">Whether each row's true label is the out-of-scope label.</param>
    /// <param name="objective">What to maximise.</param>
    public static ThresholdChoice Choose(ReadOnlySpan<float> confidence, ReadOnlySpan<bool> correct, ReadOnlySpan<bool> outOfScope, ThresholdObjective objective)
    {
        int rows = confidence.Length;
        if (correct.Length != rows || outOfScope.Length != rows)
        {
            throw new ArgumentException("Every row needs a confidence, a correctness flag and an out-of-scope flag.");
        }

        int inScopeTotal = 0;
        int correctTotal = 0;
        for (int i = 0; i < rows; i++)
        {
            if (!outOfScope[i])
            {
                inScopeTotal++;
                if (correct[i])
                {
                    correctTotal++;
                }
            }
        }

        int outOfScopeTotal = rows - inScopeTotal;
        var order = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            order[i] = i;
        }

        var keys = confidence.ToArray();
        Array.Sort(keys, order);

        // Threshold 0: nothing is out of scope. Then raise it past one group of equal confidences at a time.
        var best = Score(0, correctTotal, 0);
        int lostCorrect = 0;
        int caught = 0;
        for (int i = 0; i < rows;)
        {
            float value = keys[i];
            for (; i < rows && keys[i] == value; i++)
            {
                if (outOfScope[order[i]])
                {
                    caught++;
                }
                else if (correct[order[i]])
                {
                    lostCorrect++;
                }
            }

            double threshold = i < rows ? (value + (double)keys[i]) / 2 : Math.BitIncrement((double)value);
            var candidate = Score(threshold, correctTotal - lostCorrect, caught);
            if (candidate.Objective > best.Objective)
            {
                best = candidate;
            }
        }

        return outOfScopeTotal == 0 ? Score(0, correctTotal, 0) : best;

        ThresholdChoice Score(double threshold, int inScopeCorrect, int outOfScopeCaught)
        {
            double inScopeAccuracy = inScopeTotal == 0 ? 0 : inScopeCorrect / (double)inScopeTotal;
            double recall = outOfScopeTotal == 0 ? 0 : outOfScopeCaught / (double)outOfScopeTotal;
            double value = objective switch
            {
                ThresholdObjective.Balanced => (inScopeAccuracy + recall) / 2,
                ThresholdObjective.Accuracy => rows == 0 ? 0 : (inScopeCorrect + outOfScopeCaught) / (double)rows,
                _ => throw new ArgumentOutOfRangeException(nameof(objective), objective, "Unknown objective."),
            };
            return new ThresholdChoice(threshold, inScopeAccuracy, recall, value);
        }
    }
}
