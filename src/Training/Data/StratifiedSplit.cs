namespace TextClassification.Training.Data;

/// <summary>Splits labelled rows into training and validation sets that keep each label's share.</summary>
public static class StratifiedSplit
{
    /// <summary>
    /// Puts about <paramref name="validationFraction"/> of each label's rows in the validation set and the rest in the
    /// training set; the same rows, fraction and seed always give the same split.
    /// </summary>
    /// <remarks>
    /// Per label with n rows, <c>round(n × fraction)</c> rows (halves away from zero) go to validation, clamped so
    /// that a label with two or more rows gives at least one and keeps at least one in training; a label with a single
    /// row stays in training, so the model sees every label. Which rows are drawn depends only on the seed and the
    /// rows: labels are visited in ordinal order with one seeded generator. Both sets keep the input order; shuffling
    /// for training is the trainer's business.
    /// </remarks>
    /// <param name="rows">The rows to split.</param>
    /// <param name="validationFraction">The share for validation, in [0, 1); 0 gives an empty validation set.</param>
    /// <param name="seed">Seeds the choice of rows.</param>
    public static (IReadOnlyList<LabelledText> Train, IReadOnlyList<LabelledText> Validation) Split(
        IReadOnlyList<LabelledText> rows, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (!(validationFraction >= 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be at least 0 and less than 1.");
        }

        var rowsByLabel = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < rows.Count; i++)
        {
            if (!rowsByLabel.TryGetValue(rows[i].Label, out var indexes))
            {
                rowsByLabel[rows[i].Label] = indexes = [];
            }

            indexes.Add(i);
        }

        var random = new Random(seed);
        var toValidation = new bool[rows.Count];
        int validationCount = 0;
        foreach (var label in rowsByLabel.Keys.Order(StringComparer.Ordinal))
        {
            var indexes = rowsByLabel[label];
            int take = ValidationRowsFor(indexes.Count, validationFraction);
            // A partial Fisher–Yates shuffle: the first `take` positions end up a uniform random sample.
            for (int i = 0; i < take; i++)
            {
                int j = random.Next(i, indexes.Count);
                (indexes[i], indexes[j]) = (indexes[j], indexes[i]);
                toValidation[indexes[i]] = true;
            }

            validationCount += take;
        }

        var train = new List<LabelledText>(rows.Count - validationCount);
        var validation = new List<LabelledText>(validationCount);
        for (int i = 0; i < rows.Count; i++)
        {
            (toValidation[i] ? validation : train).Add(rows[i]);
        }

        return (train, validation);
    }

    /// <summary>How many of a label's <paramref name="count"/> rows <see cref="Split"/> holds out for validation.</summary>
    public static int ValidationRowsFor(int count, double fraction)
    {
        if (count < 2 || fraction == 0)
        {
            return 0;
        }

        int rounded = (int)Math.Round(count * fraction, MidpointRounding.AwayFromZero);
        return Math.Clamp(rounded, 1, count - 1);
    }
}
