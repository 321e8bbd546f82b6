using TextClassification.Training.Loop;

namespace TextClassification.Training.Tests.Loop;

public sealed class LearningRateScheduleTests
{
    [Theory]
    [InlineData(LearningRateScheduleKind.Linear)]
    [InlineData(LearningRateScheduleKind.Cosine)]
    [InlineData(LearningRateScheduleKind.Constant)]
    public void Warm_up_rises_linearly_from_the_first_step_to_the_peak(LearningRateScheduleKind kind)
    {
        Assert.Equal(0.25, LearningRateSchedule.At(0, 100, 4, kind));
        Assert.Equal(0.5, LearningRateSchedule.At(1, 100, 4, kind));
        Assert.Equal(1.0, LearningRateSchedule.At(3, 100, 4, kind));
        Assert.Equal(1.0, LearningRateSchedule.At(4, 100, 4, kind));
    }

    [Fact]
    public void Linear_decay_falls_evenly_towards_zero_after_warm_up()
    {
        Assert.Equal(0.5, LearningRateSchedule.At(60, 110, 10, LearningRateScheduleKind.Linear), 12);
        Assert.Equal(0.01, LearningRateSchedule.At(109, 110, 10, LearningRateScheduleKind.Linear), 12);
    }

    [Fact]
    public void Cosine_decay_is_at_half_midway_and_near_zero_at_the_end()
    {
        Assert.Equal(0.5, LearningRateSchedule.At(50, 100, 0, LearningRateScheduleKind.Cosine), 12);
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.99)), LearningRateSchedule.At(99, 100, 0, LearningRateScheduleKind.Cosine), 12);
        Assert.True(LearningRateSchedule.At(99, 100, 0, LearningRateScheduleKind.Cosine) > 0);
    }

    [Fact]
    public void Constant_stays_at_the_peak_and_steps_past_the_end_are_clamped()
    {
        Assert.Equal(1.0, LearningRateSchedule.At(99, 100, 10, LearningRateScheduleKind.Constant));
        Assert.Equal(
            LearningRateSchedule.At(99, 100, 10, LearningRateScheduleKind.Linear),
            LearningRateSchedule.At(500, 100, 10, LearningRateScheduleKind.Linear));
    }

    [Fact]
    public void No_warm_up_starts_at_the_peak_and_all_warm_up_never_decays()
    {
        Assert.Equal(1.0, LearningRateSchedule.At(0, 10, 0, LearningRateScheduleKind.Linear));
        Assert.Equal(0.9, LearningRateSchedule.At(8, 10, 10, LearningRateScheduleKind.Linear), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(9, 10, 10, LearningRateScheduleKind.Linear), 12);
    }

    [Fact]
    public void Invalid_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.At(-1, 10, 0, LearningRateScheduleKind.Linear));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.At(0, 0, 0, LearningRateScheduleKind.Linear));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.At(0, 10, 11, LearningRateScheduleKind.Linear));
    }

    [Theory]
    [InlineData(100, 0.1, 10)]
    [InlineData(15, 0.1, 2)]
    [InlineData(10, 0.0, 0)]
    [InlineData(3, 0.99, 3)]
    public void Warm_up_steps_are_the_rounded_share_of_all_steps(long total, double ratio, long expected)
    {
        Assert.Equal(expected, LearningRateSchedule.WarmupSteps(total, ratio));
    }
}
