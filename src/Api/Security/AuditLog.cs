using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Security;

/// <summary>
/// Records the changes made through the API. <see cref="Add"/> puts the entry into the request's unit of work, so
/// the change and its record are saved by the same <c>SaveChanges</c>; <see cref="WriteAsync"/> saves it at once,
/// for changes made outside the change tracker. Callers record only what succeeded: never a refused request.
/// Details must never hold a key's secret, a customer's text or a dataset's rows.
/// </summary>
internal sealed class AuditLog(ServiceDbContext db, IHttpContextAccessor http, TimeProvider clock)
{
    public const string Anonymous = "anonymous";
    public const string Bootstrap = "bootstrap";

    /// <summary>The actions recorded, as <c>resource.verb</c>.</summary>
    public static class Actions
    {
        public const string DatasetUpload = "dataset.upload";
        public const string DatasetDelete = "dataset.delete";
        public const string BaseModelUpload = "base_model.upload";
        public const string BaseModelDelete = "base_model.delete";
        public const string JobCreate = "fine_tuning_job.create";
        public const string JobCancel = "fine_tuning_job.cancel";
        public const string JobCheckpointsDelete = "fine_tuning_job.checkpoints_delete";
        public const string SweepCreate = "sweep.create";
        public const string SweepCancel = "sweep.cancel";
        public const string ModelVersionDelete = "model_version.delete";
        public const string AliasSet = "model_alias.set";
        public const string AliasDelete = "model_alias.delete";
        public const string ApiKeyCreate = "api_key.create";
        public const string ApiKeyRevoke = "api_key.revoke";
        public const string ApiKeyUpdate = "api_key.update";
    }

    public static class Resources
    {
        public const string Dataset = "dataset";
        public const string BaseModel = "base_model";
        public const string FineTuningJob = "fine_tuning_job";
        public const string ModelVersion = "model_version";
        public const string ModelAlias = "model_alias";
        public const string ApiKey = "api_key";
        public const string Sweep = "sweep";
    }

    public void Add(string action, string resourceType, string resourceId, Dictionary<string, string>? details = null) =>
        db.AuditEntries.Add(Entry(action, resourceType, resourceId, details));

    public async Task WriteAsync(string action, string resourceType, string resourceId, Dictionary<string, string>? details = null)
    {
        Add(action, resourceType, resourceId, details);
        // The change it records has happened; the record is written even if the caller has gone.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>An entry made outside a request (the bootstrap key), by <see cref="Bootstrap"/>.</summary>
    public static AuditEntry SystemEntry(TimeProvider clock, string action, string resourceType, string resourceId, Dictionary<string, string>? details = null) => new()
    {
        Id = ResourceId.New(AuditEntry.IdPrefix, clock),
        OccurredAt = clock.GetUtcNow(),
        Actor = Bootstrap,
        Action = action,
        ResourceType = resourceType,
        ResourceId = resourceId,
        Details = details ?? [],
    };

    private AuditEntry Entry(string action, string resourceType, string resourceId, Dictionary<string, string>? details)
    {
        var context = http.HttpContext;
        return new AuditEntry
        {
            Id = ResourceId.New(AuditEntry.IdPrefix, clock),
            OccurredAt = clock.GetUtcNow(),
            Actor = context?.User.FindFirst(ApiKeyAuthenticationHandler.KeyIdClaim)?.Value ?? Anonymous,
            Action = action,
            ResourceType = resourceType,
            ResourceId = resourceId,
            RemoteIp = context?.Connection.RemoteIpAddress?.ToString(),
            Details = details ?? [],
        };
    }
}
