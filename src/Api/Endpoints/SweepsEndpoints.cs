using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Jobs;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// <c>/v1/fine-tuning/sweeps</c>: start, watch and cancel hyperparameter sweeps. A worker's
/// <see cref="Training.Sweeps.SweepOrchestrator"/> runs them; these handlers only write and read their rows.
/// </summary>
internal static class SweepsEndpoints
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapSweepsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/fine-tuning/sweeps").WithTags("Hyperparameter sweeps").RequireScope(ApiScopes.TrainPolicy);

        group.MapPost("/", CreateSweep)
            .WithName("CreateSweep")
            .WithSummary("Start a hyperparameter sweep")
            .WithDescription(SweepRequests.Description)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithRequestExample(SweepRequests.Example)
            .WithResponseExample(StatusCodes.Status201Created, Examples.Sweep with { Status = "running", Trials = [], BestTrial = null, Result = null, EndReason = null, FinishedAt = null });

        group.MapGet("/", ListSweeps)
            .WithName("ListSweeps")
            .WithSummary("List hyperparameter sweeps, newest first")
            .WithDescription("Page with `limit` (1–100) and `after` (the last id of the previous page). Each sweep comes with its trials table.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithParameterExample("limit", "How many sweeps to return (1–100).", 20)
            .WithParameterExample("after", "Return sweeps older than this id.", Examples.Sweep.Id)
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<SweepResponse>([Examples.Sweep], false));

        group.MapGet("/{id}", GetSweep)
            .WithName("GetSweep")
            .WithSummary("Get a sweep: its trials table (parameters, objective, state, time) and its best trial")
            .WithDescription("Each trial is an ordinary fine-tuning job (`job_id`, with its own events); `pruned` trials were stopped early by successive halving.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The sweep id.", Examples.Sweep.Id)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Sweep);

        group.MapPost("/{id}/cancel", CancelSweep)
            .WithName("CancelSweep")
            .WithSummary("Cancel a sweep and every running trial")
            .WithDescription("Starts no more trials and cancels every queued or running one; the sweep ends `cancelled` and registers no version. Cancelling an ended sweep returns it unchanged.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The sweep id.", Examples.Sweep.Id)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Sweep with { Status = "running", CancelRequested = true, FinishedAt = null, Result = null, EndReason = null });

        return app;
    }

    private static async Task<Created<SweepResponse>> CreateSweep(
        CreateSweepRequest? request, SweepRequests requests, ServiceDbContext db, AuditLog audit, CancellationToken cancellationToken)
    {
        var sweep = await requests.ToSweepAsync(request, cancellationToken);
        db.HyperparameterSweeps.Add(sweep);
        audit.Add(AuditLog.Actions.SweepCreate, AuditLog.Resources.Sweep, sweep.Id, new()
        {
            ["model"] = sweep.Model,
            ["method"] = sweep.Method,
        });
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/v1/fine-tuning/sweeps/{sweep.Id}", SweepResponse.From(sweep, []));
    }

    private static async Task<Ok<ListResponse<SweepResponse>>> ListSweeps(ServiceDbContext db, TimeProvider clock, int? limit, string? after, CancellationToken cancellationToken)
    {
        int pageSize = Paging.ValidateLimit(limit, DefaultPageSize, MaxPageSize);
        var query = db.HyperparameterSweeps.AsNoTracking();
        if (after is not null)
        {
            if (!ResourceId.IsWellFormed(after, ResourceId.SweepPrefix))
            {
                throw new RequestValidationException([ProblemError.ForField("after", $"'{after}' is not a sweep id.")]);
            }

            query = query.Where(s => string.Compare(s.Id, after) < 0);
        }

        var page = await query.OrderByDescending(s => s.Id).Take(pageSize + 1).ToListAsync(cancellationToken);
        var data = new List<SweepResponse>();
        foreach (var sweep in page.Take(pageSize))
        {
            data.Add(SweepResponse.From(sweep, await TrialsAsync(db, sweep.Id, clock, cancellationToken)));
        }

        return TypedResults.Ok(new ListResponse<SweepResponse>(data, page.Count > pageSize));
    }

    private static async Task<Ok<SweepResponse>> GetSweep(string id, ServiceDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var sweep = await db.HyperparameterSweeps.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("Sweep", id);
        return TypedResults.Ok(SweepResponse.From(sweep, await TrialsAsync(db, id, clock, cancellationToken)));
    }

    private static async Task<Ok<SweepResponse>> CancelSweep(
        string id, ServiceDbContext db, FineTuningJobScheduler scheduler, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        var sweep = await db.HyperparameterSweeps.FirstOrDefaultAsync(s => s.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("Sweep", id);
        if (sweep.IsActive && !sweep.CancelRequested)
        {
            for (int attempt = 0; ; attempt++)
            {
                sweep.CancelRequested = true;
                sweep.ConcurrencyStamp = Guid.NewGuid();
                try
                {
                    await db.SaveChangesAsync(cancellationToken);
                    break;
                }
                catch (DbUpdateConcurrencyException) when (attempt < 5)
                {
                    // The orchestrator wrote the sweep in between: look again at what it wrote.
                    db.ChangeTracker.Clear();
                    sweep = await db.HyperparameterSweeps.SingleAsync(s => s.Id == id, cancellationToken);
                    if (!sweep.IsActive || sweep.CancelRequested)
                    {
                        break;
                    }
                }
            }

            // The trials stop now, not at the orchestrator's next tick; it then ends the sweep.
            var running = await db.SweepTrials.Where(t => t.SweepId == id && t.State == SweepTrialState.Running).Select(t => t.JobId).ToListAsync(cancellationToken);
            foreach (var jobId in running)
            {
                var job = await db.FineTuningJobs.SingleAsync(j => j.Id == jobId, cancellationToken);
                await scheduler.CancelAsync(job, cancellationToken);
            }

            await audit.WriteAsync(AuditLog.Actions.SweepCancel, AuditLog.Resources.Sweep, id, new()
            {
                ["trials_cancelled"] = running.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        return TypedResults.Ok(SweepResponse.From(sweep, await TrialsAsync(db, id, clock, cancellationToken)));
    }

    /// <summary>The trials table: each trial with its job's times, epochs and registered version.</summary>
    private static async Task<List<SweepTrialResponse>> TrialsAsync(ServiceDbContext db, string sweepId, TimeProvider clock, CancellationToken cancellationToken)
    {
        var trials = await db.SweepTrials.AsNoTracking().Where(t => t.SweepId == sweepId).OrderBy(t => t.Number).ToListAsync(cancellationToken);
        var jobIds = trials.Select(t => t.JobId).ToList();
        var jobs = await db.FineTuningJobs.AsNoTracking().Where(j => jobIds.Contains(j.Id))
            .Select(j => new { j.Id, j.StartedAt, j.FinishedAt, j.ResultModel, j.ResultVersion }).ToDictionaryAsync(j => j.Id, cancellationToken);
        var epochs = (await db.JobCheckpoints.AsNoTracking().Where(c => jobIds.Contains(c.JobId)).Select(c => new { c.JobId, c.Epoch }).ToListAsync(cancellationToken))
            .GroupBy(c => c.JobId).ToDictionary(g => g.Key, g => g.Max(c => c.Epoch));
        var now = clock.GetUtcNow();
        return trials.Select(t =>
        {
            var job = jobs[t.JobId];
            return new SweepTrialResponse(
                t.Number,
                t.JobId,
                System.Text.Json.JsonDocument.Parse(t.ParametersJson).RootElement.Clone(),
                t.State.ToString().ToLowerInvariant(),
                t.Objective is { } objective ? Math.Round(objective, 5) : null,
                epochs.GetValueOrDefault(t.JobId),
                t.PrunedAtEpoch,
                job.StartedAt is { } started ? Math.Round(((job.FinishedAt ?? now) - started).TotalSeconds, 1) : null,
                job.ResultModel is { } model && job.ResultVersion is { } version ? new JobResult(model, version) : null);
        }).ToList();
    }

    private static class Examples
    {
        private static readonly DateTimeOffset Created = new(2026, 11, 23, 9, 30, 0, TimeSpan.Zero);

        private static readonly SweepTrialResponse Best = new(
            3, "ftjob_01kaq4c2m8x3v5b7n9p1r3t5w7", System.Text.Json.JsonDocument.Parse("""{"learning_rate":0.0123,"dropout":0.21,"embedding_dim":128}""").RootElement,
            "succeeded", 0.9312, 8, null, 74.2, new JobResult("support-intents", 4));

        public static readonly SweepResponse Sweep = new(
            "sweep_01kaq4c2m8x3v5b7n9p1r3t5w7", "fine_tuning.sweep", "succeeded", "support-intents", "tpe", "validation_accuracy",
            System.Text.Json.JsonDocument.Parse("""{"learning_rate":{"low":0.001,"high":0.05,"scale":"log","points":null},"dropout":{"low":0,"high":0.5,"scale":"linear","points":null},"embedding_dim":{"choices":[64,96,128]}}""").RootElement,
            20, 1200, 1, 7, "best", new EarlyStoppingRequest(true, 1, 3), false,
            [
                new SweepTrialResponse(2, "ftjob_01kaq4b9x0y1z2a3b4c5d6e7f8", System.Text.Json.JsonDocument.Parse("""{"learning_rate":0.0011,"dropout":0.44,"embedding_dim":64}""").RootElement,
                    "pruned", 0.612, 1, 1, 9.8, null),
                Best,
            ],
            Best, new JobResult("support-intents", 4), "All 20 trial(s) ended; best trial 3 (validation_accuracy 0.9312) registered as support-intents version 4.",
            Created, Created.AddMinutes(19));
    }
}
