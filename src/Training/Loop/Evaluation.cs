namespace TextClassification.Training.Loop;

/// <summary>Precision, recall and F1 of one label, with how many rows truly have it.</summary>
public sealed record ClassMetrics(string Label, double Precision, double Recall, double F1, int Support);

/// <summary>How the out-of-scope threshold did. Serving predicts out of scope when the top probability is below it.</summary>
/// <param name="Label">The label that stands for "out of scope" in the data.</param>
/// <param name="Threshold">Top-probability threshold chosen on the validation data.</param>
/// <param name="InScopeAccuracy">Share of in-scope rows predicted with their own label (predicting out of scope counts as wrong).</param>
/// <param name="OutOfScopeRecall">Share of out-of-scope rows predicted as out of scope.</param>
/// <param name="InScopeExamples">In-scope rows evaluated.</param>
/// <param name="OutOfScopeExamples">Out-of-scope rows evaluated.</param>
public sealed record OutOfScopeMetrics(
    string Label,
    double Threshold,
    double InScopeAccuracy,
    double OutOfScopeRecall,
    int InScopeExamples,
    int OutOfScopeExamples);

/// <summary>One point of the out-of-scope trade-off: what a given threshold would give on the evaluated rows.</summary>
/// <param name="Threshold">Top-probability threshold; rows below it are predicted out of scope.</param>
/// <param name="InScopeAccuracy">Share of in-scope rows predicted with their own label at this threshold.</param>
/// <param name="OutOfScopeRecall">Share of out-of-scope rows predicted as out of scope at this threshold.</param>
public sealed record ThresholdPoint(double Threshold, double InScopeAccuracy, double OutOfScopeRecall);

/// <summary>An evaluated row the classifier got wrong.</summary>
/// <param name="Text">
/// The row's text as stored, cut to <see cref="EvaluationReport.MaxMisclassifiedTextLength"/> UTF-16 units (and "…")
/// so that a report of long texts stays small.
/// </param>
/// <param name="Label">Its true label.</param>
/// <param name="Predicted">What the classifier said: a label, or the out-of-scope label when the top probability fell below the threshold.</param>
/// <param name="Score">The top probability.</param>
public sealed record MisclassifiedExample(string Text, string Label, string Predicted, double Score);

/// <summary>
/// A classifier's results on labelled rows. With an out-of-scope label, that label is one more row and column of
/// the confusion matrix and of <see cref="PerClass"/> (the model never has it as a class; it is predicted by the
/// threshold), and <see cref="OutOfScope"/> is set.
/// </summary>
/// <param name="Examples">Rows evaluated.</param>
/// <param name="Accuracy">Share of rows predicted correctly, over all rows.</param>
/// <param name="MacroF1">Mean F1 over the labels that occur in the rows or the predictions.</param>
/// <param name="Labels">Row and column order of <see cref="ConfusionMatrix"/>.</param>
/// <param name="PerClass">Per label, in <see cref="Labels"/> order.</param>
/// <param name="ConfusionMatrix"><c>ConfusionMatrix[actual][predicted]</c> counts.</param>
/// <param name="OutOfScope">The out-of-scope threshold and its effect; null without an out-of-scope label.</param>
/// <param name="ThresholdCurve">
/// In-scope accuracy and out-of-scope recall at every threshold from 0 to 1 in steps of
/// <see cref="ThresholdCurveStep"/>: the trade-off <see cref="OutOfScope"/>'s threshold was chosen on. Null without an
/// out-of-scope label.
/// </param>
/// <param name="Misclassified">
/// The rows predicted wrongly, least confident first, at most <see cref="MaxMisclassified"/>; the count of all of them is
/// <see cref="Examples"/> less the diagonal of <see cref="ConfusionMatrix"/>. Null when the report was made from label
/// indexes alone.
/// </param>
public sealed record EvaluationReport(
    int Examples,
    double Accuracy,
    double MacroF1,
    IReadOnlyList<string> Labels,
    IReadOnlyList<ClassMetrics> PerClass,
    IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix,
    OutOfScopeMetrics? OutOfScope,
    IReadOnlyList<ThresholdPoint>? ThresholdCurve = null,
    IReadOnlyList<MisclassifiedExample>? Misclassified = null)
{
    /// <summary>Distance between the thresholds of <see cref="ThresholdCurve"/> (51 points from 0 to 1).</summary>
    public const double ThresholdCurveStep = 0.02;

    /// <summary>Most misclassified rows a report keeps: enough to see the patterns, small enough to store with every version.</summary>
    public const int MaxMisclassified = 200;

    /// <summary>
    /// Most characters of a misclassified row's text a report keeps: a stored text can be up to
    /// <c>Datasets:MaxTextLength</c> (10,000) long, and the report is stored with the job and the version.
    /// </summary>
    public const int MaxMisclassifiedTextLength = 500;

    /// <summary>
    /// Computes the report from label indexes into <paramref name="labels"/>: <c>actual[i]</c> and
    /// <c>predicted[i]</c> for row i.
    /// </summary>
    public static EvaluationReport FromPredictions(IReadOnlyList<string> labels, ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (actual.Length != predicted.Length)
        {
            throw new ArgumentException("Every row needs one actual and one predicted label.", nameof(predicted));
        }

        int classes = labels.Count;
        var matrix = new int[classes][];
        for (int i = 0; i < classes; i++)
        {
            matrix[i] = new int[classes];
        }

        int correct = 0;
        for (int row = 0; row < actual.Length; row++)
        {
            if ((uint)actual[row] >= (uint)classes || (uint)predicted[row] >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(actual), $"Row {row} has a label index outside 0..{classes - 1}.");
            }

            matrix[actual[row]][predicted[row]]++;
            if (actual[row] == predicted[row])
            {
                correct++;
            }
        }

        var perClass = new ClassMetrics[classes];
        double f1Sum = 0;
        int f1Count = 0;
        for (int c = 0; c < classes; c++)
        {
            int truePositives = matrix[c][c];
            int support = matrix[c].Sum();
            int predictedCount = 0;
            for (int r = 0; r < classes; r++)
            {
                predictedCount += matrix[r][c];
            }

            double precision = predictedCount == 0 ? 0 : truePositives / (double)predictedCount;
            double recall = support == 0 ? 0 : truePositives / (double)support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass[c] = new ClassMetrics(labels[c], precision, recall, f1, support);
            // A label absent from both the rows and the predictions says nothing about the classifier.
            if (support > 0 || predictedCount > 0)
            {
                f1Sum += f1;
                f1Count++;
            }
        }

        return new EvaluationReport(
            actual.Length,
            actual.Length == 0 ? 0 : correct / (double)actual.Length,
            f1Count == 0 ? 0 : f1Sum / f1Count,
            labels.ToArray(),
            perClass,
            matrix,
            OutOfScope: null);
    }
}
