using System.Text.Json;
using System.Text.Json.Serialization;

namespace TextClassification.Training.Jobs.TrainingProcess;

/// <summary>
/// What a worker and its training child process say to each other over the child's standard streams. The worker
/// writes <see cref="TrainingProcessStart"/> as the first line of the child's stdin, then <see cref="StopLine"/> when
/// the job must stop (cancel, shutdown, lease lost); closing stdin (the worker died) makes the child exit at once.
/// The child writes <see cref="TrainingProcessMessage"/>s to stdout, each on a line of its own after
/// <see cref="MessagePrefix"/> (anything else on stdout, a native library's chatter, is log output); its log goes to
/// stderr.
/// </summary>
internal static class TrainingProcessProtocol
{
    /// <summary>The first argument that starts the service executable as a training child process.</summary>
    public const string Command = "run-training-job";

    public const string StopLine = "stop";

    public const string MessagePrefix = "@@training-process ";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Format(TrainingProcessMessage message) => MessagePrefix + JsonSerializer.Serialize(message, Json);

    /// <summary>Reads a line of the child's stdout: a message, or null for anything else.</summary>
    public static TrainingProcessMessage? Parse(string line)
    {
        if (!line.StartsWith(MessagePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<TrainingProcessMessage>(line.AsSpan(MessagePrefix.Length), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// The job a child trains, the lease owner it writes under, and the worker's whole configuration: the worker may have
/// been configured by any means (files, environment, command line, a test host's settings), and the child must act
/// on exactly the same database, artifact store, key and options. It travels over the pipe, never on a command line
/// that other users of the machine could read.
/// </summary>
internal sealed record TrainingProcessStart(string JobId, string LeaseOwner, Dictionary<string, string?> Configuration);

/// <summary>A line from the child: a heartbeat, or the job's result, the last thing it writes.</summary>
internal sealed record TrainingProcessMessage(string Type, string? Outcome = null, string? Model = null, int? Version = null, string? Code = null, string? Message = null)
{
    public const string HeartbeatType = "heartbeat";
    public const string ResultType = "result";

    /// <summary>The job published <see cref="Model"/> version <see cref="Version"/>.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>The job failed for a reason of its own (<see cref="Code"/>, <see cref="Message"/>); not retried.</summary>
    public const string Failed = "failed";

    /// <summary>The job stopped because the worker asked it to.</summary>
    public const string Stopped = "stopped";

    /// <summary>The database or the artifact store failed under it: a retry resumes it from its last checkpoint.</summary>
    public const string Interrupted = "interrupted";

    public static TrainingProcessMessage Heartbeat { get; } = new(HeartbeatType);

    public static TrainingProcessMessage Result(string outcome, string? code = null, string? message = null) => new(ResultType, outcome, Code: code, Message: message);
}
