using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class StratifiedSplitTests
{
    private static readonly IReadOnlyList<LabelledText> Rows =
    [
        .. Enumerable.Range(0, 100).Select(i => new LabelledText($"common {i}", "common")),
        .. Enumerable.Range(0, 10).Select(i => new LabelledText($"rare {i}", "rare")),
        new LabelledText("pair 0", "pair"),
        new LabelledText("pair 1", "pair"),
        new LabelledText("single", "single"),
    ];

    [Fact]
    public void The_same_seed_gives_the_same_split_and_another_seed_a_different_one()
    {
        var first = StratifiedSplit.Split(Rows, 0.2, seed: 42);
        var again = StratifiedSplit.Split(Rows, 0.2, seed: 42);
        var other = StratifiedSplit.Split(Rows, 0.2, seed: 43);

        Assert.Equal(first.Train, again.Train);
        Assert.Equal(first.Validation, again.Validation);
        Assert.NotEqual(first.Validation, other.Validation);
    }

    [Fact]
    public void Each_label_keeps_its_share_and_never_leaves_training()
    {
        var (train, validation) = StratifiedSplit.Split(Rows, 0.2, seed: 7);

        Assert.Equal(20, validation.Count(r => r.Label == "common"));
        Assert.Equal(2, validation.Count(r => r.Label == "rare"));
        Assert.Equal(1, validation.Count(r => r.Label == "pair"));
        Assert.Equal(1, train.Count(r => r.Label == "pair"));
        Assert.Contains(new LabelledText("single", "single"), train);
        Assert.DoesNotContain(validation, r => r.Label == "single");
        Assert.Equal(Rows.Count, train.Count + validation.Count);
        Assert.Empty(train.Intersect(validation));
    }

    [Fact]
    public void A_large_fraction_still_leaves_one_row_of_each_label_in_training()
    {
        var (train, _) = StratifiedSplit.Split(Rows, 0.99, seed: 1);

        Assert.Equal(["common", "pair", "rare", "single"], train.Select(r => r.Label).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Both_sets_keep_the_input_order()
    {
        var (train, validation) = StratifiedSplit.Split(Rows, 0.3, seed: 3);

        Assert.Equal(Rows.Where(train.Contains), train);
        Assert.Equal(Rows.Where(validation.Contains), validation);
    }

    [Fact]
    public void A_zero_fraction_puts_everything_in_training()
    {
        var (train, validation) = StratifiedSplit.Split(Rows, 0, seed: 1);

        Assert.Equal(Rows, train);
        Assert.Empty(validation);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_fraction_outside_zero_to_one_is_refused(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StratifiedSplit.Split(Rows, fraction, seed: 1));
}
