namespace TextClassification.Training.Loop;

/// <summary>The learning-rate multiplier at each optimizer step: linear warm-up, then the chosen decay.</summary>
public static class LearningRateSchedule
{
    /// <summary>
    /// The factor (0, 1] to multiply the peak learning rate by for optimizer step <paramref name="step"/> (0-based)
    /// of <paramref name="totalSteps"/>.
    /// </summary>
    /// <remarks>
    /// Warm-up: steps <c>0 .. warmupSteps−1</c> rise linearly as <c>(step + 1) / warmupSteps</c>, so the first step
    /// already moves and the last warm-up step is at the peak. After it, with <c>p = (step − warmupSteps) /
    /// (totalSteps − warmupSteps)</c> going from 0 towards 1: linear gives <c>1 − p</c>, cosine gives
    /// <c>(1 + cos πp) / 2</c>, constant gives 1. The factor never reaches 0 within the run, so no step is wasted.
    /// Steps past the end are clamped to the last one.
    /// </remarks>
    public static double At(long step, long totalSteps, long warmupSteps, LearningRateScheduleKind kind)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(warmupSteps, totalSteps);
        step = Math.Min(step, totalSteps - 1);
        if (step < warmupSteps)
        {
            return (step + 1) / (double)warmupSteps;
        }

        double progress = (step - warmupSteps) / (double)(totalSteps - warmupSteps);
        return kind switch
        {
            LearningRateScheduleKind.Linear => 1 - progress,
            LearningRateScheduleKind.Cosine => 0.5 * (1 + Math.Cos(Math.PI * progress)),
            LearningRateScheduleKind.Constant => 1,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown schedule."),
        };
    }

    /// <summary>Warm-up steps for a ratio of the run: rounded, and at most all steps.</summary>
    public static long WarmupSteps(long totalSteps, double warmupRatio) =>
        Math.Clamp((long)Math.Round(totalSteps * warmupRatio, MidpointRounding.AwayFromZero), 0, totalSteps);
}
