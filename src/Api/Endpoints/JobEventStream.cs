using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TextClassification.Api.Contracts;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// A job's events as server-sent events: what is already there after <c>Last-Event-ID</c>, then new events as the
/// job writes them, until the job has ended and every event has been sent. Events are polled from the database,
/// so the stream works the same whichever process runs the job.
/// </summary>
internal static class JobEventStream
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static bool IsRequested(HttpRequest request) =>
        request.Headers.Accept.Any(value => value?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);

    public static async Task StreamAsync(HttpContext context, string jobId, long afterEventId, ServiceDbContext db, JsonSerializerOptions json)
    {
        var response = context.Response;
        var cancellationToken = context.RequestAborted;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(cancellationToken);

        long lastId = afterEventId;
        var lastWrite = DateTime.UtcNow;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Read the status before the events: if the job had ended by then, these events are its last.
                var status = await db.FineTuningJobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => j.Status).SingleAsync(cancellationToken);
                var batch = await db.JobEvents.AsNoTracking()
                    .Where(e => e.JobId == jobId && e.Id > lastId)
                    .OrderBy(e => e.Id)
                    .Take(500)
                    .ToListAsync(cancellationToken);

                foreach (var e in batch)
                {
                    await WriteEventAsync(response, e, json, cancellationToken);
                    lastId = e.Id;
                }

                if (batch.Count > 0)
                {
                    lastWrite = DateTime.UtcNow;
                    await response.Body.FlushAsync(cancellationToken);
                }

                bool ended = status is not (FineTuningJobStatus.Queued or FineTuningJobStatus.Running);
                if (ended && batch.Count < 500)
                {
                    await response.WriteAsync("event: end\ndata: {}\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                    return;
                }

                if (DateTime.UtcNow - lastWrite > KeepAliveInterval)
                {
                    await response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                    lastWrite = DateTime.UtcNow;
                }

                if (batch.Count == 0)
                {
                    await Task.Delay(PollInterval, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away; nothing to finish.
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, JobEvent e, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        var text = new StringBuilder()
            .Append("id: ").Append(e.Id).Append('\n')
            .Append("event: ").Append(e.Type).Append('\n')
            .Append("data: ").Append(JsonSerializer.Serialize(JobEventResponse.From(e), json)).Append("\n\n");
        await response.WriteAsync(text.ToString(), cancellationToken);
    }

    /// <summary>The event id to resume after: the <c>Last-Event-ID</c> header, else the <c>after</c> query value, else 0.</summary>
    public static long ResumeAfter(HttpRequest request, long? after) =>
        long.TryParse(request.Headers["Last-Event-ID"].FirstOrDefault(), out long lastEventId) ? lastEventId : after ?? 0;
}
