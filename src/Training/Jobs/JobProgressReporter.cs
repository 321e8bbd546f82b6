using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Jobs;

/// <summary>
/// The job's <see cref="ITrainingObserver"/>: turns what the trainer reports into the job's progress, metrics,
/// events and checkpoints. The trainer calls it between batches on its own thread, so every write is queued and
/// done in order on a background task; <see cref="CompleteAsync"/> waits until all of them are stored.
/// </summary>
internal sealed class JobProgressReporter : ITrainingObserver
{
    /// <summary>Progress on the row at most this often; a loss event at most every <see cref="StepEventInterval"/>.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StepEventInterval = TimeSpan.FromSeconds(5);

    private readonly string _jobId;
    private readonly int _epochs;
    private readonly JobLease _lease;
    private readonly JobEventLog _events;
    private readonly IArtifactStore _artifacts;
    private readonly TimeProvider _clock;
    private readonly IServiceScopeFactory _scopes;
    private readonly CheckpointRetentionOptions _retention;
    private readonly TrainingHeartbeat _heartbeat;
    private readonly Channel<Func<CancellationToken, Task>> _writes = Channel.CreateUnbounded<Func<CancellationToken, Task>>(new() { SingleReader = true });
    private readonly Task _writer;
    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();
    private readonly long _firstStep;
    private TimeSpan? _lastProgress;
    private TimeSpan _lastStepEvent = TimeSpan.Zero;

    public JobProgressReporter(
        string jobId, int epochs, long firstStep, JobLease lease, JobEventLog events, IArtifactStore artifacts, TimeProvider clock, IServiceScopeFactory scopes,
        CheckpointRetentionOptions retention, TrainingHeartbeat heartbeat)
    {
        _heartbeat = heartbeat;
        _retention = retention;
        _scopes = scopes;
        _jobId = jobId;
        _epochs = epochs;
        _firstStep = firstStep;
        _lease = lease;
        _events = events;
        _artifacts = artifacts;
        _clock = clock;
        _writer = Task.Run(WriteAllAsync);
    }

    public void OnStep(TrainingStep step)
    {
        _heartbeat.Beat();
        var now = _sinceStart.Elapsed;
        if (_lastProgress is null || now - _lastProgress >= ProgressInterval || step.Step == step.TotalSteps)
        {
            _lastProgress = now;
            double fraction = (double)step.Step / step.TotalSteps;
            long done = step.Step - _firstStep;
            double? eta = done > 0 ? now.TotalSeconds / done * (step.TotalSteps - step.Step) : null;
            var progress = new JobProgress(step.Epoch, _epochs, step.Step, step.TotalSteps, Math.Round(fraction, 4), eta is null ? null : Math.Round(eta.Value, 1));
            Enqueue(token => _lease.UpdateAsync(_jobId, (job, _) => job.ProgressJson = JobEventLog.Serialize(progress), release: false, token));
        }

        if (now - _lastStepEvent >= StepEventInterval)
        {
            _lastStepEvent = now;
            Enqueue(token => _events.AppendAsync(_jobId, "info", JobEventTypes.StepLoss,
                $"Step {step.Step}/{step.TotalSteps}: loss {step.Loss:F4}.",
                new { step.Epoch, step.Step, total_steps = step.TotalSteps, loss = Math.Round(step.Loss, 5), learning_rate = step.LearningRate, examples_per_second = Math.Round(step.ExamplesPerSecond, 1) },
                token));
        }
    }

    public void OnEpoch(EpochMetrics metrics)
    {
        _heartbeat.Beat();
        var latest = new JobMetrics(Round(metrics.TrainLoss), Round(metrics.ValidationLoss), Round(metrics.ValidationAccuracy), Round(metrics.ValidationMacroF1));
        Enqueue(token => _lease.UpdateAsync(_jobId, (job, db) =>
        {
            job.MetricsJson = JobEventLog.Serialize(latest);
            db.JobEvents.Add(_events.NewEvent(_jobId, "info", JobEventTypes.EpochCompleted,
                $"Epoch {metrics.Epoch}/{_epochs}: train loss {metrics.TrainLoss:F4}"
                    + (metrics.ValidationAccuracy is { } accuracy ? $", validation accuracy {accuracy:P2}, macro-F1 {metrics.ValidationMacroF1:F4}" : string.Empty)
                    + (metrics.IsBest ? " (best so far)." : "."),
                new
                {
                    metrics.Epoch,
                    train_loss = latest.TrainLoss,
                    validation_loss = latest.ValidationLoss,
                    validation_accuracy = latest.ValidationAccuracy,
                    validation_macro_f1 = latest.ValidationMacroF1,
                    is_best = metrics.IsBest,
                    seconds = Math.Round(metrics.Seconds, 2),
                }));
        }, release: false, token));
    }

    public void OnBatch() => _heartbeat.Beat();

    public void OnCheckpoint(TrainingCheckpoint checkpoint)
    {
        Enqueue(token => SaveCheckpointAsync(checkpoint, token));
    }

    /// <summary>Waits for every queued write; rethrows the first that failed.</summary>
    public async Task CompleteAsync()
    {
        _writes.Writer.TryComplete();
        await _writer;
    }

    private async Task SaveCheckpointAsync(TrainingCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        string key = $"checkpoints/{_jobId}/epoch-{checkpoint.EpochsCompleted:D4}.ckpt";
        StoredArtifact stored;
        await using (var write = _artifacts.BeginWrite(key))
        {
            checkpoint.WriteTo(write);
            stored = await write.CommitAsync(cancellationToken);
        }

        var record = new JobCheckpoint
        {
            JobId = _jobId,
            Epoch = checkpoint.EpochsCompleted,
            Step = checkpoint.GlobalStep,
            MetricsJson = JobEventLog.Serialize(CheckpointMetrics(checkpoint)),
            ArtifactKey = stored.Key,
            Sha256 = stored.Sha256,
            SizeBytes = stored.SizeBytes,
            CreatedAt = _clock.GetUtcNow(),
        };
        bool saved = await _lease.UpdateAsync(_jobId, (_, db) =>
        {
            db.JobCheckpoints.Add(record);
            db.JobEvents.Add(_events.NewEvent(_jobId, "info", JobEventTypes.CheckpointSaved,
                $"Checkpoint after epoch {checkpoint.EpochsCompleted} saved ({stored.SizeBytes / 1024} KiB).",
                new { epoch = checkpoint.EpochsCompleted, step = checkpoint.GlobalStep, sha256 = stored.Sha256, size_bytes = stored.SizeBytes }));
        }, release: false, cancellationToken);
        if (saved)
        {
            await RetireOlderCheckpointsAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Removes the files of the job's checkpoints that <see cref="CheckpointRetentionOptions"/> does not keep once a
    /// newer one is stored. The newest holds the last weights, the best weights and the optimizer state, which is all
    /// that resume and publishing read; an encoder's checkpoint is about 360 MB (22 M parameters, twice, plus two
    /// AdamW moments), so keeping one per epoch would fill a disk quickly. The rows stay, as the job's history, with
    /// no file. The row is updated before the file is deleted: a crash in between leaves an unreferenced file (which
    /// the orphan collection removes), never a row that points at nothing.
    /// </summary>
    private async Task RetireOlderCheckpointsAsync(CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var stored = await db.JobCheckpoints
            .Where(c => c.JobId == _jobId && c.ArtifactKey != null)
            .Select(c => new { c.Id, c.Epoch, c.MetricsJson, c.ArtifactKey })
            .ToListAsync(cancellationToken);
        var keep = stored.OrderByDescending(c => c.Epoch).Take(_retention.KeepLast).Select(c => c.Id).ToHashSet();
        if (_retention.KeepBest)
        {
            // The trainer's criterion: the highest validation macro-F1, the earliest epoch on a tie.
            var best = stored
                .Select(c => (c.Id, c.Epoch, F1: JobEventLog.Deserialize<JobMetrics>(c.MetricsJson)?.ValidationMacroF1))
                .Where(c => c.F1 is not null)
                .OrderByDescending(c => c.F1).ThenBy(c => c.Epoch)
                .FirstOrDefault();
            if (best.F1 is not null)
            {
                keep.Add(best.Id);
            }
        }

        var retire = stored.Where(c => !keep.Contains(c.Id)).ToList();
        if (retire.Count == 0)
        {
            return;
        }

        var ids = retire.Select(c => c.Id).ToList();
        await db.JobCheckpoints.Where(c => ids.Contains(c.Id))
            .ExecuteUpdateAsync(set => set.SetProperty(c => c.ArtifactKey, (string?)null), cancellationToken);
        foreach (var checkpoint in retire)
        {
            _artifacts.Delete(checkpoint.ArtifactKey!);
        }
    }

    /// <summary>The figures of the epoch that ended at the checkpoint, as the checkpoints endpoint shows them.</summary>
    /// <summary>The figures an epoch's checkpoint row holds (a sweep's pruning compares trials on them).</summary>
    internal static JobMetrics CheckpointMetrics(TrainingCheckpoint checkpoint) =>
        checkpoint.History.LastOrDefault() is { } last
            ? new JobMetrics(Round(last.TrainLoss), Round(last.ValidationLoss), Round(last.ValidationAccuracy), Round(last.ValidationMacroF1))
            : new JobMetrics(null, null, null, null);

    private void Enqueue(Func<CancellationToken, Task> write) => _writes.Writer.TryWrite(write);

    private async Task WriteAllAsync()
    {
        await foreach (var write in _writes.Reader.ReadAllAsync())
        {
            // Writes are not cancelled with the job: a cancelled or stopping job still records what it reached.
            await write(CancellationToken.None);
        }
    }

    private static double? Round(double? value) => value is null ? null : Math.Round(value.Value, 5);
}
