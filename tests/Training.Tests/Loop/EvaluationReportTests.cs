using TextClassification.Training.Loop;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Loop;

public sealed class EvaluationReportTests
{
    [Fact]
    public void Metrics_match_a_hand_computed_confusion_matrix()
    {
        // actual \ predicted:  a  b  c
        //                  a   3  1  0
        //                  b   0  2  0
        //                  c   1  1  2
        int[] actual = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2];
        int[] predicted = [0, 0, 0, 1, 1, 1, 0, 1, 2, 2];

        var report = EvaluationReport.FromPredictions(["a", "b", "c"], actual, predicted);

        Assert.Equal(10, report.Examples);
        Assert.Equal(0.7, report.Accuracy, 12);
        Assert.Equal([[3, 1, 0], [0, 2, 0], [1, 1, 2]], report.ConfusionMatrix.Select(r => r.ToArray()).ToArray());
        // a: precision 3/4, recall 3/4, F1 0.75; b: precision 2/4, recall 1, F1 2/3; c: precision 1, recall 1/2, F1 2/3.
        Assert.Equal([0.75, 0.5, 1.0], report.PerClass.Select(c => c.Precision));
        Assert.Equal([0.75, 1.0, 0.5], report.PerClass.Select(c => c.Recall));
        Assert.Equal(0.75, report.PerClass[0].F1, 12);
        Assert.Equal(2.0 / 3, report.PerClass[1].F1, 12);
        Assert.Equal(2.0 / 3, report.PerClass[2].F1, 12);
        Assert.Equal([4, 2, 4], report.PerClass.Select(c => c.Support));
        Assert.Equal((0.75 + 2.0 / 3 + 2.0 / 3) / 3, report.MacroF1, 12);
        Assert.Null(report.OutOfScope);
    }

    [Fact]
    public void A_label_neither_present_nor_predicted_does_not_lower_macro_f1()
    {
        var report = EvaluationReport.FromPredictions(["a", "b", "unused"], [0, 1], [0, 1]);

        Assert.Equal(1.0, report.MacroF1);
        Assert.Equal(0, report.PerClass[2].Support);
    }

    [Fact]
    public void The_report_serialises_in_snake_case()
    {
        var report = EvaluationReport.FromPredictions(["a", "b"], [0, 1], [0, 0]);

        string json = System.Text.Json.JsonSerializer.Serialize(report, TrainingJson.Options);

        Assert.Contains("\"macro_f1\":", json);
        Assert.Contains("\"confusion_matrix\":[[1,0],[1,0]]", json);
        Assert.Equal(report.MacroF1, System.Text.Json.JsonSerializer.Deserialize<EvaluationReport>(json, TrainingJson.Options)!.MacroF1);
    }
}

public sealed class ScoringReportTests
{
    // Rows: two in-scope labels a, b and out-of-scope rows; probabilities over [a, b].
    private static readonly LabelledText[] Rows =
    [
        new("a sure", "a"),      // a 0.90: right at every threshold up to 0.90
        new("a unsure", "a"),    // a 0.55: right up to 0.55
        new("b wrong", "b"),     // a 0.70: wrong
        new("oos vague", "oos"), // a 0.50: caught above 0.50
        new("oos bold", "oos"),  // b 0.95: caught only above 0.95
    ];

    private static readonly float[] Probabilities = [0.90f, 0.10f, 0.55f, 0.45f, 0.70f, 0.30f, 0.50f, 0.50f, 0.05f, 0.95f];

    [Fact]
    public void The_threshold_curve_trades_in_scope_accuracy_for_out_of_scope_recall_from_0_to_1()
    {
        var report = Scoring.Report(["a", "b"], "oos", Probabilities, Rows, threshold: 0.6);

        var curve = report.ThresholdCurve!;
        Assert.Equal(51, curve.Count);
        Assert.Equal(0.0, curve[0].Threshold);
        Assert.Equal(1.0, curve[^1].Threshold);
        Assert.Equal(new ThresholdPoint(0, 2.0 / 3, 0), curve[0]);
        // At 0.6 the unsure "a" row drops out of scope and the vague out-of-scope row is caught.
        Assert.Equal(new ThresholdPoint(0.6, 1.0 / 3, 0.5), curve[30]);
        Assert.Equal(new ThresholdPoint(1.0, 0, 1), curve[^1]);

        // The point at the chosen threshold is what the report's own out-of-scope figures say (the serving rule).
        var chosen = report.OutOfScope!;
        Assert.Equal(0.6, chosen.Threshold);
        Assert.Equal(new ThresholdPoint(chosen.Threshold, chosen.InScopeAccuracy, chosen.OutOfScopeRecall), curve[30]);
    }

    [Fact]
    public void A_long_misclassified_text_is_cut_to_the_kept_length_without_splitting_a_surrogate_pair()
    {
        string text = new string('x', EvaluationReport.MaxMisclassifiedTextLength - 1) + "😀 and then a long tail";
        LabelledText[] rows = [new(text, "b"), new("short", "b")];

        var report = Scoring.Report(["a", "b"], null, [0.9f, 0.1f, 0.8f, 0.2f], rows, threshold: 0);

        string kept = report.Misclassified![1].Text;
        Assert.Equal(new string('x', EvaluationReport.MaxMisclassifiedTextLength - 1) + "…", kept);
        Assert.Equal("short", report.Misclassified[0].Text);
    }

    [Fact]
    public void Misclassified_rows_are_listed_least_confident_first_with_their_true_and_predicted_labels()
    {
        var report = Scoring.Report(["a", "b"], "oos", Probabilities, Rows, threshold: 0.6);

        Assert.Equal(
            [("a unsure", "a", "oos"), ("b wrong", "b", "a"), ("oos bold", "oos", "b")],
            report.Misclassified!.Select(m => (m.Text, m.Label, m.Predicted)).ToArray());
        Assert.Equal(0.55, report.Misclassified![0].Score, 5);
    }

    [Fact]
    public void Without_an_out_of_scope_label_there_is_no_curve_but_mistakes_are_listed()
    {
        var report = Scoring.Report(["a", "b"], null, Probabilities.AsSpan(0, 6), Rows[..3], threshold: 0);

        Assert.Null(report.ThresholdCurve);
        Assert.Equal(["b wrong"], report.Misclassified!.Select(m => m.Text));
    }
}
