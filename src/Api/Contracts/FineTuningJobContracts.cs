using System.Text.Json;
using TextClassification.Training.Data;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Jobs;
using TextClassification.Training.Loop;

namespace TextClassification.Api.Contracts;

/// <summary>The body of <c>POST /v1/fine-tuning/jobs</c>; every field but the two required ones has a default.</summary>
public sealed record CreateFineTuningJobRequest(
    string? TrainingDatasetId,
    string? ValidationDatasetId,
    string? Model,
    string? BaseModel,
    string? Architecture,
    HyperparameterOverrides? Hyperparameters,
    double? ValidationSplit,
    string? OutOfScopeLabel,
    string? Quantization = null,
    bool? DryRun = null,
    string? DistillFrom = null,
    string? UnlabelledDatasetId = null);

/// <summary>What a job would do, from <c>"dry_run": true</c>: nothing is queued.</summary>
/// <param name="Object">Always <c>fine_tuning.job.preflight</c>.</param>
/// <param name="Architecture">The architecture it would train.</param>
/// <param name="BaseModel">The encoder or version it would start from.</param>
/// <param name="Hyperparameters">Resolved: the request's values over the preset.</param>
/// <param name="TrainingRows">Rows it would train on (after the validation split, out-of-scope rows included).</param>
/// <param name="ValidationRows">Rows it would validate on.</param>
/// <param name="Labels">Labels it would learn (the out-of-scope label excluded).</param>
/// <param name="Findings">Its datasets' quality findings (codes prefixed by the dataset's role) and, with a validation dataset, the pair checks (labels in only one of the two, leaked texts).</param>
/// <param name="EstimatedSeconds">
/// Epochs × training rows ÷ the median training throughput of this service's latest succeeded job of the same
/// architecture and base model; null until such a job has run.
/// </param>
public sealed record FineTuningJobPreflightResponse(
    string Object,
    string Architecture,
    string? BaseModel,
    JsonElement Hyperparameters,
    int TrainingRows,
    int ValidationRows,
    int Labels,
    IReadOnlyList<QualityFinding> Findings,
    double? EstimatedSeconds);

/// <summary>A fine-tuning job as the API shows it.</summary>
/// <remarks>
/// <c>Worker</c> names the worker process (<c>Jobs:WorkerName</c>) that last claimed the job: the one running it, or
/// the one that ran it to its end; null until a worker has started it.
/// </remarks>
public sealed record FineTuningJobResponse(
    string Id,
    string Object,
    string Status,
    string Model,
    string? BaseModel,
    string Architecture,
    JsonElement Hyperparameters,
    string TrainingDatasetId,
    string? ValidationDatasetId,
    double? ValidationSplit,
    string? OutOfScopeLabel,
    string Quantization,
    string? Device,
    string? Worker,
    JobProgress? Progress,
    JobMetrics? Metrics,
    JobResult? Result,
    JobError? Error,
    bool CancelRequested,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    JsonElement? Evaluation = null,
    IReadOnlyList<QualityFinding>? Warnings = null,
    string? DistillFrom = null,
    string? UnlabelledDatasetId = null,
    string? SweepId = null)
{
    /// <summary>The job; with <paramref name="includeEvaluation"/>, also its full evaluation (per-class figures, confusion matrix).</summary>
    public static FineTuningJobResponse From(FineTuningJob job, bool includeEvaluation = false) => new(
        job.Id,
        "fine_tuning.job",
        job.Status.ToString().ToLowerInvariant(),
        job.Model,
        job.BaseModel,
        job.Architecture,
        JsonDocument.Parse(job.HyperparametersJson).RootElement.Clone(),
        job.TrainingDatasetId,
        job.ValidationDatasetId,
        job.ValidationSplit,
        job.OutOfScopeLabel,
        job.Quantization ?? "none",
        job.Device,
        job.Worker,
        JobEventLog.Deserialize<JobProgress>(job.ProgressJson),
        JobEventLog.Deserialize<JobMetrics>(job.MetricsJson),
        job.ResultModel is null || job.ResultVersion is null ? null : new JobResult(job.ResultModel, job.ResultVersion.Value),
        job.ErrorCode is null ? null : new JobError(job.ErrorCode, job.ErrorMessage ?? string.Empty),
        job.CancelRequested,
        job.CreatedAt,
        job.StartedAt,
        job.FinishedAt,
        includeEvaluation && job.EvaluationJson is not null ? JsonDocument.Parse(job.EvaluationJson).RootElement.Clone() : null,
        DistillFrom: job.DistillFrom,
        UnlabelledDatasetId: job.UnlabelledDatasetId,
        SweepId: job.SweepId);
}

/// <summary>What a succeeded job published: a version of a registered model.</summary>
public sealed record JobResult(string Model, int Version);

/// <summary>Why a job failed: a stable code and a readable message.</summary>
public sealed record JobError(string Code, string Message);

/// <summary>One entry of a job's event log.</summary>
public sealed record JobEventResponse(long Id, string Object, DateTimeOffset CreatedAt, string Level, string Type, string Message, JsonElement? Data)
{
    public static JobEventResponse From(JobEvent e) => new(
        e.Id, "fine_tuning.job.event", e.CreatedAt, e.Level, e.Type, e.Message,
        e.DataJson is null ? null : JsonDocument.Parse(e.DataJson).RootElement.Clone());
}

/// <summary>A checkpoint a job wrote after an epoch.</summary>
/// <param name="Object">Always <c>fine_tuning.job.checkpoint</c>.</param>
/// <param name="Epoch">Epochs completed when it was written.</param>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Metrics">That epoch's losses, accuracy and macro-F1.</param>
/// <param name="Sha256">Of the checkpoint file as written.</param>
/// <param name="SizeBytes">Its size as written.</param>
/// <param name="Retained">Whether the file is still stored: by default only a job's newest checkpoint keeps it (resume needs no other; <c>Jobs:Checkpoints</c> can keep more).</param>
/// <param name="CreatedAt">When it was written.</param>
public sealed record JobCheckpointResponse(string Object, int Epoch, long Step, JsonElement Metrics, string Sha256, long SizeBytes, bool Retained, DateTimeOffset CreatedAt)
{
    public static JobCheckpointResponse From(JobCheckpoint c) => new(
        "fine_tuning.job.checkpoint", c.Epoch, c.Step, JsonDocument.Parse(c.MetricsJson).RootElement.Clone(), c.Sha256, c.SizeBytes, c.ArtifactKey is not null, c.CreatedAt);
}

/// <summary>What deleting a job's checkpoint files freed.</summary>
/// <param name="Object">Always <c>fine_tuning.job.checkpoints.deleted</c>.</param>
/// <param name="JobId">The job.</param>
/// <param name="FilesDeleted">Checkpoint files deleted (0 when none was left).</param>
/// <param name="BytesFreed">Their size as written.</param>
public sealed record JobCheckpointsDeletedResponse(string Object, string JobId, int FilesDeleted, long BytesFreed);

/// <summary>A list without paging.</summary>
public sealed record DataResponse<T>(IReadOnlyList<T> Data, string Object = "list");
