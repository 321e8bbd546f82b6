using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TextClassification.Api.Contracts;
using TextClassification.Training.Data;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Jobs;

namespace TextClassification.Api.Endpoints;

/// <summary><c>/v1/fine-tuning/jobs</c>: start, watch, cancel and inspect fine-tuning jobs (the OpenAI API's shape).</summary>
internal static partial class FineTuningJobsEndpoints
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapFineTuningJobsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/fine-tuning/jobs").WithTags("Fine-tuning jobs").RequireScope(ApiScopes.TrainPolicy);

        group.MapPost("/", CreateJob)
            .WithName("CreateFineTuningJob")
            .WithSummary("Start a fine-tuning job")
            .WithDescription(FineTuningJobRequests.Description)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithRequestExample(FineTuningJobRequests.Example)
            .WithResponseExample(StatusCodes.Status201Created, Examples.Job)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Preflight);

        group.MapGet("/", ListJobs)
            .WithName("ListFineTuningJobs")
            .WithSummary("List fine-tuning jobs, newest first")
            .WithDescription("Filter with `status` (queued, running, succeeded, failed, cancelled); page with `limit` (1–100) and `after` (the last id of the previous page).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithParameterExample("status", "Only jobs with this status.", "running")
            .WithParameterExample("limit", "How many jobs to return (1–100).", 20)
            .WithParameterExample("after", "Return jobs older than this id.", Examples.Job.Id)
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<FineTuningJobResponse>([Examples.Job], false));

        group.MapGet("/{id}", GetJob)
            .WithName("GetFineTuningJob")
            .WithSummary("Get a fine-tuning job: status, progress, metrics, result or error")
            .WithDescription("""
                Once the job has trained, `evaluation` holds its results on the validation data: accuracy, macro-F1,
                per-class precision/recall/F1/support, the confusion matrix (`confusion_matrix[actual][predicted]` in
                `labels` order), `misclassified` (the validation rows it got wrong, least confident first, at most 200:
                text, true `label`, `predicted`, top `score`) and, with an out-of-scope label, `out_of_scope` (the chosen
                threshold with its in-scope accuracy and out-of-scope recall) and `threshold_curve`: in-scope accuracy
                and out-of-scope recall at every threshold from 0 to 1 in steps of 0.02, the trade-off the threshold was
                chosen on. The model version's `metrics` hold the same evaluation.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The job id.", Examples.Job.Id)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Job with { Evaluation = Examples.Evaluation });

        group.MapPost("/{id}/cancel", CancelJob)
            .WithName("CancelFineTuningJob")
            .WithSummary("Cancel a fine-tuning job")
            .WithDescription("A queued job is cancelled at once; a running one stops at the next batch (within two seconds) and ends `cancelled`. Cancelling an ended job returns it unchanged.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The job id.", Examples.Job.Id)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Job with { Status = "running", CancelRequested = true });

        group.MapGet("/{id}/events", GetJobEvents)
            .WithName("ListFineTuningJobEvents")
            .WithSummary("A job's events; live as server-sent events with Accept: text/event-stream")
            .WithDescription("""
                JSON: `{data, has_more}`, oldest first after `after` (an event id), at most `limit` (1–1000, default 100).
                With `Accept: text/event-stream` the events stream live until the job ends (a final `end` event);
                reconnecting with `Last-Event-ID` resumes after that event.
                """)
            .Produces<ListResponse<JobEventResponse>>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The job id.", Examples.Job.Id)
            .WithParameterExample("after", "Return events after this event id.", 0)
            .WithParameterExample("limit", "How many events to return (1–1000).", 100)
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<JobEventResponse>([Examples.Event], true));

        group.MapGet("/{id}/checkpoints", GetJobCheckpoints)
            .WithName("ListFineTuningJobCheckpoints")
            .WithSummary("The checkpoints a job wrote, one per epoch")
            .WithDescription("""
                One entry per epoch, oldest first, with that epoch's metrics. By default only the newest keeps its file
                (`retained`): it holds the last and the best weights and the optimizer state, all that resuming the job
                needs, so earlier files are removed as each new one is stored (`Jobs:Checkpoints` can keep more).
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The job id.", Examples.Job.Id)
            .WithResponseExample(StatusCodes.Status200OK, new DataResponse<JobCheckpointResponse>([Examples.Checkpoint]));

        group.MapDelete("/{id}/checkpoints", DeleteJobCheckpoints)
            .WithName("DeleteFineTuningJobCheckpoints")
            .WithSummary("Delete an ended job's checkpoint files and say what that freed")
            .WithDescription("""
                Frees the disk an ended job's checkpoints hold; the rows stay as its history (`retained` false). A
                published model version keeps its own copy of the weights, so this never affects serving. Refused with
                409 while the job is queued or running: resuming it needs its newest checkpoint.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithParameterExample("id", "The job id.", Examples.Job.Id)
            .WithResponseExample(StatusCodes.Status200OK, new JobCheckpointsDeletedResponse("fine_tuning.job.checkpoints.deleted", Examples.Job.Id, 1, 48_211_968));

        return app;
    }

    private static async Task<Results<Created<FineTuningJobResponse>, Ok<FineTuningJobPreflightResponse>>> CreateJob(
        CreateFineTuningJobRequest? request,
        FineTuningJobRequests requests,
        FineTuningJobScheduler scheduler,
        ServiceDbContext db,
        JobEventLog events,
        AuditLog audit,
        CancellationToken cancellationToken)
    {
        var checkedJob = await requests.ToJobAsync(request, cancellationToken);
        var job = checkedJob.Job;
        if (request!.DryRun == true)
        {
            // Everything a real job would be checked for has been checked; nothing is saved or queued.
            return TypedResults.Ok(await requests.PreflightAsync(checkedJob, cancellationToken));
        }

        // Warnings go with the created job and become its first event, saved with it.
        var warnings = (await requests.FindingsAsync(checkedJob, cancellationToken)).Where(f => f.Severity != QualitySeverity.Info).ToList();
        if (warnings.Count > 0)
        {
            db.JobEvents.Add(events.NewEvent(job.Id, "warning", JobEventTypes.Warning,
                $"Created with {warnings.Count} data warning(s): " + string.Join(" ", warnings.Select(w => $"[{w.Code}] {w.Message}")),
                new { warnings = warnings.Select(w => new { w.Code, w.Count }) }));
        }

        // The scheduler saves the job through this request's context: the entry is saved with it, or not at all.
        audit.Add(AuditLog.Actions.JobCreate, AuditLog.Resources.FineTuningJob, job.Id, new()
        {
            ["model"] = job.Model,
            ["architecture"] = job.Architecture,
            ["training_dataset_id"] = job.TrainingDatasetId,
        });
        await scheduler.SubmitAsync(job, cancellationToken);
        return TypedResults.Created($"/v1/fine-tuning/jobs/{job.Id}", FineTuningJobResponse.From(job) with { Warnings = warnings });
    }

    private static async Task<Ok<ListResponse<FineTuningJobResponse>>> ListJobs(
        ServiceDbContext db, string? status, int? limit, string? after, CancellationToken cancellationToken)
    {
        int pageSize = Paging.ValidateLimit(limit, DefaultPageSize, MaxPageSize);
        var query = db.FineTuningJobs.AsNoTracking();
        if (status is not null)
        {
            if (!Enum.TryParse<FineTuningJobStatus>(status, ignoreCase: true, out var parsed) || int.TryParse(status, out _))
            {
                throw new RequestValidationException([ProblemError.ForField("status", $"'{status}' is not a job status; use queued, running, succeeded, failed or cancelled.")]);
            }

            query = query.Where(j => j.Status == parsed);
        }

        if (after is not null)
        {
            if (!ResourceId.IsWellFormed(after, ResourceId.FineTuningJobPrefix))
            {
                throw new RequestValidationException([ProblemError.ForField("after", $"'{after}' is not a fine-tuning job id.")]);
            }

            query = query.Where(j => string.Compare(j.Id, after) < 0);
        }

        var page = await query.OrderByDescending(j => j.Id).Take(pageSize + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ListResponse<FineTuningJobResponse>(
            page.Take(pageSize).Select(j => FineTuningJobResponse.From(j)).ToList(), page.Count > pageSize));
    }

    private static async Task<Ok<FineTuningJobResponse>> GetJob(string id, ServiceDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(FineTuningJobResponse.From(await FindAsync(db, id, cancellationToken), includeEvaluation: true));

    private static async Task<Ok<FineTuningJobResponse>> CancelJob(
        string id, ServiceDbContext db, FineTuningJobScheduler scheduler, AuditLog audit, CancellationToken cancellationToken)
    {
        var job = await db.FineTuningJobs.FirstOrDefaultAsync(j => j.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("Fine-tuning job", id);
        bool cancellable = job.IsActive && !job.CancelRequested;
        var status = job.Status;
        var result = await scheduler.CancelAsync(job, cancellationToken);

        // The scheduler may retry on a fresh change tracker, so the entry is written after it; only when the call
        // changed the job (cancelling an ended job changes nothing and records nothing).
        if (cancellable && (result.Status == FineTuningJobStatus.Cancelled || result.CancelRequested))
        {
            await audit.WriteAsync(AuditLog.Actions.JobCancel, AuditLog.Resources.FineTuningJob, id, new()
            {
                ["status_before"] = status.ToString().ToLowerInvariant(),
                ["status_after"] = result.Status.ToString().ToLowerInvariant(),
            });
        }

        return TypedResults.Ok(FineTuningJobResponse.From(result));
    }

    private static async Task<IResult> GetJobEvents(
        string id, long? after, int? limit, HttpContext context, ServiceDbContext db, IOptions<JsonOptions> json, CancellationToken cancellationToken)
    {
        await FindAsync(db, id, cancellationToken);
        long afterId = JobEventStream.ResumeAfter(context.Request, after);
        if (JobEventStream.IsRequested(context.Request))
        {
            await JobEventStream.StreamAsync(context, id, afterId, db, json.Value.SerializerOptions);
            return TypedResults.Empty;
        }

        int pageSize = Paging.ValidateLimit(limit, 100, 1000);
        var page = await db.JobEvents.AsNoTracking()
            .Where(e => e.JobId == id && e.Id > afterId)
            .OrderBy(e => e.Id)
            .Take(pageSize + 1)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new ListResponse<JobEventResponse>(page.Take(pageSize).Select(JobEventResponse.From).ToList(), page.Count > pageSize));
    }

    private static async Task<Ok<DataResponse<JobCheckpointResponse>>> GetJobCheckpoints(string id, ServiceDbContext db, CancellationToken cancellationToken)
    {
        await FindAsync(db, id, cancellationToken);
        var checkpoints = await db.JobCheckpoints.AsNoTracking().Where(c => c.JobId == id).OrderBy(c => c.Epoch).ToListAsync(cancellationToken);
        return TypedResults.Ok(new DataResponse<JobCheckpointResponse>(checkpoints.Select(JobCheckpointResponse.From).ToList()));
    }

    private static async Task<Ok<JobCheckpointsDeletedResponse>> DeleteJobCheckpoints(
        string id, ServiceDbContext db, IArtifactStore artifacts, AuditLog audit, CancellationToken cancellationToken)
    {
        var job = await FindAsync(db, id, cancellationToken);
        if (job.IsActive)
        {
            throw new ResourceConflictException(
                $"Fine-tuning job '{id}' is {job.Status.ToString().ToLowerInvariant()}: resuming it needs its checkpoints. Cancel it or wait for it to end.");
        }

        var stored = await db.JobCheckpoints.Where(c => c.JobId == id && c.ArtifactKey != null).ToListAsync(cancellationToken);
        var files = stored.Select(c => (Key: c.ArtifactKey!, c.SizeBytes)).ToList();
        foreach (var checkpoint in stored)
        {
            checkpoint.ArtifactKey = null;
        }

        var freed = new JobCheckpointsDeletedResponse("fine_tuning.job.checkpoints.deleted", id, files.Count, files.Sum(f => f.SizeBytes));
        if (files.Count > 0)
        {
            audit.Add(AuditLog.Actions.JobCheckpointsDelete, AuditLog.Resources.FineTuningJob, id, new()
            {
                ["files_deleted"] = freed.FilesDeleted.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["bytes_freed"] = freed.BytesFreed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        // The rows let go first, then the files: a crash in between leaves unreferenced files for the orphan
        // collection, never a row that points at nothing.
        await db.SaveChangesAsync(cancellationToken);
        foreach (var (key, _) in files)
        {
            artifacts.Delete(key);
        }

        return TypedResults.Ok(freed);
    }

    private static async Task<FineTuningJob> FindAsync(ServiceDbContext db, string id, CancellationToken cancellationToken) =>
        await db.FineTuningJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("Fine-tuning job", id);

    private static class Examples
    {
        private static readonly DateTimeOffset Created = new(2026, 11, 23, 9, 30, 0, TimeSpan.Zero);

        public static readonly FineTuningJobResponse Job = new(
            "ftjob_01kaq4c2m8x3v5b7n9p1r3t5w7", "fine_tuning.job", "succeeded", "support-intents", null, "ngram-bag",
            System.Text.Json.JsonDocument.Parse("""{"epochs":8,"batch_size":64,"learning_rate":0.004,"weight_decay":0.01,"dropout":0.2,"max_sequence_length":64,"warmup_ratio":0.05,"lr_schedule":"linear","early_stopping_patience":3,"label_smoothing":0.05,"seed":7}""").RootElement,
            "ds_01kaq3m5t8y9c2b7n4x6r0w1zd", "ds_01kaq3m6a1b2c3d4e5f6g7h8j9", null, "oos", "none", "cpu", "text-classification-worker-7c9f8d6b5-q4x2m:1",
            new JobProgress(8, 8, 1888, 1888, 1.0, 0),
            new JobMetrics(0.41, 0.52, 0.95, 0.949),
            new JobResult("support-intents", 1), null, false, Created, Created.AddSeconds(1), Created.AddSeconds(74));

        public static readonly System.Text.Json.JsonElement Evaluation = System.Text.Json.JsonDocument.Parse("""
            {"examples":4,"accuracy":0.75,"macro_f1":0.7778,"labels":["balance","transfer","oos"],
             "per_class":[{"label":"balance","precision":1.0,"recall":1.0,"f1":1.0,"support":1},{"label":"transfer","precision":1.0,"recall":1.0,"f1":1.0,"support":1},{"label":"oos","precision":1.0,"recall":0.5,"f1":0.6667,"support":2}],
             "confusion_matrix":[[1,0,0],[0,1,0],[0,1,1]],
             "out_of_scope":{"label":"oos","threshold":0.31,"in_scope_accuracy":1.0,"out_of_scope_recall":0.5,"in_scope_examples":2,"out_of_scope_examples":2},
             "threshold_curve":[{"threshold":0.0,"in_scope_accuracy":1.0,"out_of_scope_recall":0.0},{"threshold":0.3,"in_scope_accuracy":1.0,"out_of_scope_recall":0.5},{"threshold":1.0,"in_scope_accuracy":0.0,"out_of_scope_recall":1.0}],
             "misclassified":[{"text":"send me a pizza","label":"oos","predicted":"transfer","score":0.62}]}
            """).RootElement;

        public static readonly JobEventResponse Event = new(
            42, "fine_tuning.job.event", Created.AddSeconds(20), "info", "epoch_completed", "Epoch 2/8: validation accuracy 0.921, macro-F1 0.919.",
            System.Text.Json.JsonDocument.Parse("""{"epoch":2,"train_loss":0.83,"validation_loss":0.61,"validation_accuracy":0.921,"validation_macro_f1":0.919}""").RootElement);

        public static readonly FineTuningJobPreflightResponse Preflight = new(
            "fine_tuning.job.preflight", "ngram-bag", null,
            System.Text.Json.JsonDocument.Parse("""{"epochs":8,"batch_size":64,"learning_rate":0.01}""").RootElement,
            13_590, 1_510, 150,
            [new QualityFinding(QualitySeverity.Warning, "training.conflicting_duplicates", "2 row(s) repeat an earlier row's text under another label: the model is taught both answers. Each example names the earlier line and label.", 2,
                [new QualityExample(812, "how much money do i have", "balance", "transfer", 97)])],
            74.5);

        public static readonly JobCheckpointResponse Checkpoint = new(
            "fine_tuning.job.checkpoint", 2, 472,
            System.Text.Json.JsonDocument.Parse("""{"train_loss":0.83,"validation_loss":0.61,"validation_accuracy":0.921,"validation_macro_f1":0.919}""").RootElement,
            "9c1d0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d", 5_412_331, false, Created.AddSeconds(21));
    }
}
