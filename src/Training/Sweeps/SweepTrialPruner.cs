using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Jobs;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Sweeps;

/// <summary>
/// Successive halving as a trial reaches each rung, inside the trial's own training, as Optuna's
/// <c>trial.should_prune()</c> is called from the training loop: after the rung epoch's checkpoint the trial compares
/// its objective there with the other trials' at the same rung (from their checkpoint rows) and, when it trails,
/// records that it was pruned, asks for its job's cancel and waits for the cancel to arrive before another batch
/// trains. Judging here rather than from the sweep's orchestrator makes the decision exact: a trial is stopped at the
/// rung it trails at, however quickly its epochs run, and never trains past it while a poll catches up.
/// </summary>
public sealed partial class SweepTrialPruner(IServiceScopeFactory scopes, JobEventLog events, ILogger<SweepTrialPruner> logger)
{
    /// <summary>
    /// How long a pruned trial waits for its cancel to reach its training (the worker looks at the flag every 0.4 s);
    /// past it the trial trains on and stops at the next batch once the cancel arrives.
    /// </summary>
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <paramref name="reporter"/> itself, or, for a trial of a sweep that stops trailing trials, an observer that
    /// judges each rung after passing everything on to it.
    /// </summary>
    public async Task<ITrainingObserver> ObserveAsync(FineTuningJob job, JobLease lease, ITrainingObserver reporter, CancellationToken stopToken)
    {
        if (job.SweepId is null)
        {
            return reporter;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        string? specJson = await db.HyperparameterSweeps.AsNoTracking().Where(s => s.Id == job.SweepId).Select(s => s.SpecJson).SingleOrDefaultAsync(stopToken);
        var spec = specJson is null ? null : SweepSpec.FromJson(specJson);
        return spec?.EarlyStopping is { } halving ? new RungJudge(this, job, lease, spec.Objective, halving, reporter, stopToken) : reporter;
    }

    /// <summary>Whether the trial trails at <paramref name="rung"/>; if so, records the prune and asks for the job's cancel.</summary>
    private async Task<bool> PruneIfTrailingAsync(FineTuningJob job, JobLease lease, string objective, SuccessiveHalving halving, int rung, double value)
    {
        List<double> others;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var siblings = db.SweepTrials.Where(t => t.SweepId == job.SweepId && t.JobId != job.Id).Select(t => t.JobId);
            var metrics = await db.JobCheckpoints.AsNoTracking().Where(c => c.Epoch == rung && siblings.Contains(c.JobId)).Select(c => c.MetricsJson).ToListAsync();
            others = [.. metrics.Select(m => SweepObjectives.FromEpoch(objective, m)).OfType<double>()];
            if (!halving.ShouldStop(value, others))
            {
                return false;
            }

            // Recorded before the cancel: the orchestrator tells a pruned trial from a cancelled one by this column
            // once the job has ended, and the job cannot end before its cancel is asked for.
            await db.SweepTrials.Where(t => t.SweepId == job.SweepId && t.JobId == job.Id && t.State == SweepTrialState.Running)
                .ExecuteUpdateAsync(set => set.SetProperty(t => t.PrunedAtEpoch, rung));
        }

        bool asked = await lease.UpdateAsync(job.Id, (row, db) =>
        {
            row.CancelRequested = true;
            db.JobEvents.Add(events.NewEvent(job.Id, "info", JobEventTypes.Message,
                $"Stopped early by sweep {job.SweepId}: objective {SweepSpec.Format(value)} after epoch {rung} trails the best of the {others.Count + 1} trials that reached it (successive halving, η = {halving.ReductionFactor}).",
                new { sweep_id = job.SweepId, epoch = rung, objective = value, pruned = true }));
        }, release: false, CancellationToken.None);
        LogPruned(logger, job.SweepId!, job.Id, rung, value);
        return asked;
    }

    /// <summary>Passes everything on to the job's reporter, and judges the trial after each rung's checkpoint.</summary>
    private sealed class RungJudge(
        SweepTrialPruner pruner, FineTuningJob job, JobLease lease, string objective, SuccessiveHalving halving, ITrainingObserver reporter, CancellationToken stopToken)
        : ITrainingObserver
    {
        public void OnStep(TrainingStep step) => reporter.OnStep(step);

        public void OnEpoch(EpochMetrics metrics) => reporter.OnEpoch(metrics);

        public void OnBatch() => reporter.OnBatch();

        public void OnCheckpoint(TrainingCheckpoint checkpoint)
        {
            reporter.OnCheckpoint(checkpoint);
            int epoch = checkpoint.EpochsCompleted;
            if (!halving.IsRung(epoch) || SweepObjectives.FromEpoch(objective, JobProgressReporter.CheckpointMetrics(checkpoint)) is not { } value)
            {
                return;
            }

            // On the training thread, which has nothing else to do until the decision: blocking it is the point.
            if (pruner.PruneIfTrailingAsync(job, lease, objective, halving, epoch, value).GetAwaiter().GetResult())
            {
                stopToken.WaitHandle.WaitOne(CancelWait);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId}: trial job {JobId} stopped early after epoch {Epoch} (objective {Objective})")]
    private static partial void LogPruned(ILogger logger, string sweepId, string jobId, int epoch, double objective);
}
