using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Jobs;

namespace TextClassification.Training.Sweeps;

/// <summary>
/// Drives hyperparameter sweeps from a worker: every <see cref="JobsOptions.SweepPollInterval"/> it takes each
/// running sweep in turn (holding a lease on its row, so that of several workers one drives it) and moves it on from
/// what the database says: it records ended trials (a trial that trails at an epoch rung stops itself, see
/// <see cref="SweepTrialPruner"/>), starts new trials as ordinary fine-tuning jobs while the budget and parallelism
/// allow, and, once no trial runs and none may start, registers the best trial's model and ends the sweep. Everything it decides is on the sweep's,
/// its trials' and their jobs' rows, so a restarted or replacement worker carries on where it stopped.
/// </summary>
public sealed partial class SweepOrchestrator(
    IServiceScopeFactory scopes,
    JobEventLog events,
    TimeProvider clock,
    IOptions<JobsOptions> jobsOptions,
    ILogger<SweepOrchestrator> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var jobs = jobsOptions.Value;
        if (!jobs.RunsWorker)
        {
            return;
        }

        using var timer = new PeriodicTimer(jobs.SweepPollInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await AdvanceAllAsync(stoppingToken);
                }
                catch (Exception e) when ((e is System.Data.Common.DbException or TimeoutException or InvalidOperationException or DbUpdateException)
                                          && !stoppingToken.IsCancellationRequested)
                {
                    // The database is briefly out of reach, or a cancel wrote the sweep meanwhile: look again next tick.
                    LogTickFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Moves every running sweep on by one step.</summary>
    public async Task AdvanceAllAsync(CancellationToken cancellationToken)
    {
        List<string> running;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            running = await db.HyperparameterSweeps.AsNoTracking().Where(s => s.Status == SweepStatus.Running).OrderBy(s => s.Id).Select(s => s.Id).ToListAsync(cancellationToken);
        }

        foreach (string id in running)
        {
            if (await ClaimAsync(id, cancellationToken))
            {
                await AdvanceAsync(id, cancellationToken);
            }
        }
    }

    /// <summary>Takes or renews this worker's lease on the sweep; false when another worker drives it.</summary>
    private async Task<bool> ClaimAsync(string sweepId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var now = clock.GetUtcNow();
        string owner = jobsOptions.Value.WorkerName;
        var until = now + TimeSpan.FromSeconds(jobsOptions.Value.LeaseSeconds);
        int claimed = await db.HyperparameterSweeps
            .Where(s => s.Id == sweepId && s.Status == SweepStatus.Running && (s.LeaseOwner == null || s.LeaseOwner == owner || s.LeaseExpiresAt < now))
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.LeaseOwner, owner).SetProperty(s => s.LeaseExpiresAt, until), cancellationToken);
        return claimed == 1;
    }

    private async Task AdvanceAsync(string sweepId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var scheduler = scope.ServiceProvider.GetRequiredService<FineTuningJobScheduler>();
        var sweep = await db.HyperparameterSweeps.SingleAsync(s => s.Id == sweepId, cancellationToken);
        var spec = SweepSpec.FromJson(sweep.SpecJson);
        var trials = await db.SweepTrials.Where(t => t.SweepId == sweepId).OrderBy(t => t.Number).ToListAsync(cancellationToken);
        var jobIds = trials.Select(t => t.JobId).ToList();
        var jobs = await db.FineTuningJobs.Where(j => jobIds.Contains(j.Id)).ToDictionaryAsync(j => j.Id, cancellationToken);
        var now = clock.GetUtcNow();

        // 1. Trials whose jobs ended. Those that did not succeed are scored on their best epoch, read only for them.
        var ended = trials.Where(t => t.State == SweepTrialState.Running && !jobs[t.JobId].IsActive).ToList();
        var unfinished = ended.Where(t => jobs[t.JobId].Status != FineTuningJobStatus.Succeeded).Select(t => t.JobId).ToList();
        var epochs = unfinished.Count == 0 ? [] : await EpochObjectivesAsync(db, spec.Objective, unfinished, cancellationToken);
        foreach (var trial in ended)
        {
            var job = jobs[trial.JobId];

            trial.FinishedAt = job.FinishedAt ?? now;
            trial.State = job.Status switch
            {
                FineTuningJobStatus.Succeeded => SweepTrialState.Succeeded,
                FineTuningJobStatus.Failed => SweepTrialState.Failed,
                _ when trial.PrunedAtEpoch is not null => SweepTrialState.Pruned,
                _ => SweepTrialState.Cancelled,
            };
            trial.Objective = trial.State == SweepTrialState.Succeeded
                ? SweepObjectives.FromEvaluation(spec.Objective, job.EvaluationJson)
                : epochs.GetValueOrDefault(job.Id)?.Values.DefaultIfEmpty().Max();
            LogTrialEnded(logger, sweepId, trial.Number, trial.State, trial.Objective);
        }

        await db.SaveChangesAsync(cancellationToken);

        if (spec.RegisterAll)
        {
            foreach (var trial in trials.Where(t => t.State == SweepTrialState.Succeeded && jobs[t.JobId].PendingVersionJson is not null))
            {
                await RegisterAsync(db, sweep, trial, jobs[trial.JobId], cancellationToken);
            }
        }

        var active = trials.Where(t => t.State == SweepTrialState.Running).ToList();
        bool outOfTime = spec.MaxWallTimeSeconds is { } limit && now - sweep.CreatedAt >= TimeSpan.FromSeconds(limit);

        // 2. On cancel, stop every running trial. (Trailing trials stop themselves at a rung: SweepTrialPruner. At
        // the wall-time limit no trial starts, but those running finish, as with Optuna's timeout: stopping them
        // would throw away most of a trial's cost, and with long trials could leave a sweep with no result at all.)
        if (sweep.CancelRequested)
        {
            foreach (var trial in active)
            {
                await scheduler.CancelAsync(jobs[trial.JobId], cancellationToken);
            }
        }

        // 3. Start trials while the budget and parallelism allow.
        var sampler = spec.Sampler();
        long capacity = Math.Min(spec.MaxTrials, sampler.Capacity ?? long.MaxValue);
        bool mayStart = !sweep.CancelRequested && !outOfTime;
        while (mayStart && active.Count < spec.ParallelTrials && trials.Count < capacity)
        {
            var scored = trials.Where(t => t.Objective is not null && t.State is SweepTrialState.Succeeded or SweepTrialState.Pruned)
                .Select(t => new ScoredTrial(SweepSpec.ParametersOf(t.ParametersJson), t.Objective!.Value))
                .ToList();
            int number = trials.Count;
            var parameters = sampler.Suggest(number, scored);
            var job = spec.Job.NewTrialJob(sweepId, parameters, clock);
            var trial = new SweepTrial
            {
                SweepId = sweepId,
                Number = number,
                JobId = job.Id,
                ParametersJson = JsonSerializer.Serialize(parameters),
                CreatedAt = clock.GetUtcNow(),
            };
            db.SweepTrials.Add(trial);
            db.JobEvents.Add(events.NewEvent(job.Id, "info", JobEventTypes.Message,
                $"Trial {number} of sweep {sweepId}: {SweepSpec.Describe(parameters)}.", new { sweep_id = sweepId, trial = number, parameters }));
            // Saved with the job, in one transaction: a trial row never lacks its job.
            await scheduler.SubmitAsync(job, cancellationToken);
            trials.Add(trial);
            active.Add(trial);
            jobs[job.Id] = job;
            LogTrialStarted(logger, sweepId, number, job.Id);
        }

        // 4. End the sweep once nothing runs and nothing may start.
        if (active.Count == 0 && (!mayStart || trials.Count >= capacity))
        {
            await FinishAsync(db, sweep, spec, trials, jobs, outOfTime && trials.Count < capacity, cancellationToken);
        }
    }

    /// <summary>Each trial job's objective after each epoch it completed, from its checkpoint rows.</summary>
    private static async Task<Dictionary<string, SortedDictionary<int, double>>> EpochObjectivesAsync(
        ServiceDbContext db, string objective, List<string> jobIds, CancellationToken cancellationToken)
    {
        var rows = await db.JobCheckpoints.AsNoTracking().Where(c => jobIds.Contains(c.JobId))
            .Select(c => new { c.JobId, c.Epoch, c.MetricsJson }).ToListAsync(cancellationToken);
        var result = new Dictionary<string, SortedDictionary<int, double>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (SweepObjectives.FromEpoch(objective, row.MetricsJson) is { } value)
            {
                if (!result.TryGetValue(row.JobId, out var byEpoch))
                {
                    result[row.JobId] = byEpoch = [];
                }

                byEpoch[row.Epoch] = value;
            }
        }

        return result;
    }

    private async Task FinishAsync(
        ServiceDbContext db, HyperparameterSweep sweep, SweepSpec spec, List<SweepTrial> trials, Dictionary<string, FineTuningJob> jobs, bool outOfTime,
        CancellationToken cancellationToken)
    {
        var best = trials.Where(t => t.State == SweepTrialState.Succeeded && t.Objective is not null)
            .OrderByDescending(t => t.Objective).ThenBy(t => t.Number).FirstOrDefault();
        sweep.BestTrialNumber = best?.Number;
        if (best is not null && !sweep.CancelRequested)
        {
            var job = jobs[best.JobId];
            if (job.PendingVersionJson is not null)
            {
                await RegisterAsync(db, sweep, best, job, cancellationToken);
            }

            sweep.ResultModel = job.ResultModel;
            sweep.ResultVersion = job.ResultVersion;
        }

        // The other trials' models are let go: their files are now unreferenced, and the orphan collection removes them.
        var unregistered = trials.Select(t => t.JobId).ToList();
        await db.FineTuningJobs.Where(j => unregistered.Contains(j.Id) && j.PendingVersionJson != null)
            .ExecuteUpdateAsync(set => set.SetProperty(j => j.PendingVersionJson, (string?)null), cancellationToken);

        sweep.Status = sweep.CancelRequested ? SweepStatus.Cancelled : best is null ? SweepStatus.Failed : SweepStatus.Succeeded;
        sweep.EndReason = sweep.CancelRequested
            ? "Cancelled; no version registered."
            : best is null
                ? "No trial succeeded."
                : (outOfTime ? $"Wall-time limit of {spec.MaxWallTimeSeconds} s reached after {trials.Count} trial(s)" : $"All {trials.Count} trial(s) ended")
                  + $"; best trial {best.Number} ({spec.Objective} {SweepSpec.Format(best.Objective!.Value)})"
                  + (sweep.ResultVersion is { } version ? $" registered as {sweep.ResultModel} version {version}." : ".");
        sweep.FinishedAt = clock.GetUtcNow();
        sweep.LeaseOwner = null;
        sweep.LeaseExpiresAt = null;
        sweep.ConcurrencyStamp = Guid.NewGuid();
        await db.SaveChangesAsync(cancellationToken);
        LogFinished(logger, sweep.Id, sweep.Status, sweep.EndReason);
    }

    /// <summary>
    /// Registers a succeeded trial's kept version and marks its job with it, in one transaction; then reads the job
    /// again into <paramref name="db"/>, which tracks it.
    /// </summary>
    private async Task RegisterAsync(ServiceDbContext db, HyperparameterSweep sweep, SweepTrial trial, FineTuningJob job, CancellationToken cancellationToken)
    {
        var prepared = PreparedModelVersion.FromJson(job.PendingVersionJson!);
        int version = await prepared.RegisterAsync(scopes, job.Model, job.Id, clock, async (transaction, number) =>
        {
            var row = await transaction.FineTuningJobs.SingleAsync(j => j.Id == job.Id, cancellationToken);
            row.PendingVersionJson = null;
            row.ResultModel = job.Model;
            row.ResultVersion = number;
            transaction.JobEvents.Add(events.NewEvent(job.Id, "info", JobEventTypes.Message,
                $"Sweep {sweep.Id} registered this trial's model as {job.Model} version {number}.", new { sweep_id = sweep.Id, trial = trial.Number, model = job.Model, version = number }));
        }, cancellationToken);
        await db.Entry(job).ReloadAsync(cancellationToken);
        LogRegistered(logger, sweep.Id, trial.Number, job.Model, version);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A sweep tick failed; the next tick tries again")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId}: trial {Number} started as job {JobId}")]
    private static partial void LogTrialStarted(ILogger logger, string sweepId, int number, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId}: trial {Number} ended {State} with objective {Objective}")]
    private static partial void LogTrialEnded(ILogger logger, string sweepId, int number, SweepTrialState state, double? objective);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId}: trial {Number} registered as {Model} version {Version}")]
    private static partial void LogRegistered(ILogger logger, string sweepId, int number, string model, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {SweepId} ended {Status}: {Reason}")]
    private static partial void LogFinished(ILogger logger, string sweepId, SweepStatus status, string? reason);
}
