using TextClassification.Training.Loop;

namespace TextClassification.Training.Tests.Loop;

public sealed class OutOfScopeThresholdTests
{
    // Six in-scope rows (four right, two wrong) and three out-of-scope rows, by top probability.
    private static readonly float[] Confidence = [0.95f, 0.9f, 0.8f, 0.3f, 0.5f, 0.35f, 0.2f, 0.4f, 0.6f];
    private static readonly bool[] Correct = [true, true, true, true, false, false, false, false, false];
    private static readonly bool[] OutOfScope = [false, false, false, false, false, false, true, true, true];

    [Fact]
    public void Balanced_objective_maximises_the_mean_of_in_scope_accuracy_and_out_of_scope_recall()
    {
        // Raising the threshold past 0.2 then 0.3, 0.35, 0.4, 0.5, 0.6 gives (in-scope correct, caught):
        // (4,1) (3,1) (3,1) (3,2) (3,2) (3,3) → means 0.5, 0.417, 0.417, 0.583, 0.583, 0.75.
        var choice = OutOfScopeThreshold.Choose(Confidence, Correct, OutOfScope, ThresholdObjective.Balanced);

        Assert.Equal((0.6 + 0.8) / 2, choice.Threshold, 6);
        Assert.Equal(0.5, choice.InScopeAccuracy, 12);
        Assert.Equal(1.0, choice.OutOfScopeRecall, 12);
        Assert.Equal(0.75, choice.Objective, 12);
    }

    [Fact]
    public void Accuracy_objective_counts_each_row_once()
    {
        // Correct rows among nine: 4 at threshold 0, 5 past 0.2, 4, 4, 5, 5, 6 past 0.6, then fewer.
        var choice = OutOfScopeThreshold.Choose(Confidence, Correct, OutOfScope, ThresholdObjective.Accuracy);

        Assert.Equal(0.7, choice.Threshold, 6);
        Assert.Equal(6.0 / 9, choice.Objective, 12);
    }

    [Fact]
    public void Ties_go_to_the_lowest_threshold()
    {
        var choice = OutOfScopeThreshold.Choose([0.9f, 0.1f, 0.5f], [true, false, false], [false, true, false], ThresholdObjective.Accuracy);

        // Past 0.1: 2 correct; past 0.5: still 2 (the wrong in-scope row becomes out of scope, which is still wrong).
        Assert.Equal(0.3, choice.Threshold, 6);
    }

    [Fact]
    public void Without_out_of_scope_rows_nothing_is_rejected()
    {
        var choice = OutOfScopeThreshold.Choose([0.9f, 0.2f], [true, false], [false, false], ThresholdObjective.Balanced);

        Assert.Equal(0, choice.Threshold);
        Assert.Equal(0.5, choice.InScopeAccuracy);
    }
}
