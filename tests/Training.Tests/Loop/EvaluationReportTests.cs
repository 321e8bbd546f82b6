using TextClassification.Training.Loop;

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
