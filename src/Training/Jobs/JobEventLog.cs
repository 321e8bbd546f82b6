using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Jobs;

/// <summary>Event types a job writes; clients filter on them.</summary>
public static class JobEventTypes
{
    public const string StatusChanged = "status_changed";
    public const string EpochCompleted = "epoch_completed";
    public const string StepLoss = "step_loss";
    public const string CheckpointSaved = "checkpoint_saved";
    public const string Resumed = "resumed";
    public const string Evaluation = "evaluation";
    public const string Exported = "exported";
    public const string Warning = "warning";
    public const string Message = "message";
    public const string TrainingProcess = "training_process";

    /// <summary>A distillation job has its teacher's outputs over one dataset or its transfer set, from the cache or computed.</summary>
    public const string TeacherOutputs = "teacher_outputs";

    /// <summary>A distillation job made its transfer set (how many variants, with a few examples).</summary>
    public const string TransferSet = "transfer_set";

    /// <summary>A job with <c>word_vectors</c> has its base model's word vectors, computed or kept from an earlier job.</summary>
    public const string WordVectors = "word_vectors";
}

/// <summary>
/// Appends to a job's event log. Each append is its own short unit of work in its own scope, so an event is
/// visible to readers (and the live stream) as soon as it is written, whatever the job does next.
/// </summary>
public sealed class JobEventLog(IServiceScopeFactory scopes, TimeProvider clock)
{
    // Event data, progress and metrics are training records: one JSON shape for all of them.
    private static JsonSerializerOptions Json => TextClassification.Training.Loop.TrainingJson.Options;

    public async Task AppendAsync(string jobId, string level, string type, string message, object? data = null, CancellationToken cancellationToken = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        db.JobEvents.Add(NewEvent(jobId, level, type, message, data));
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Builds an event to be saved together with other changes in the caller's unit of work.</summary>
    public JobEvent NewEvent(string jobId, string level, string type, string message, object? data = null) => new()
    {
        JobId = jobId,
        CreatedAt = clock.GetUtcNow(),
        Level = level,
        Type = type,
        Message = message,
        DataJson = data is null ? null : JsonSerializer.Serialize(data, Json),
    };

    public static string Serialize(object value) => JsonSerializer.Serialize(value, Json);

    public static T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, Json);
}
