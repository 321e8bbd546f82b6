using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Endpoints;

/// <summary><c>GET /v1/audit</c>: the record of every change made through the API (admin only).</summary>
internal static class AuditEndpoints
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 200;

    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/audit", ListEntries)
            .WithTags("Audit")
            .RequireScope(ApiScopes.AdminPolicy)
            .WithName("ListAuditEntries")
            .WithSummary("List recorded changes, newest first")
            .WithDescription("""
                Every dataset upload and delete, job create and cancel, model version delete, alias set and delete, and
                API key create and revoke: who (a key id, `anonymous` or `bootstrap`), what, when and from which address.
                Filter with `action` (such as `dataset.delete`), `resource_type` and `resource_id`; page with `limit`
                (1–200, default 50) and `after` (the last id of the previous page).
                """)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithParameterExample("action", "Only entries with this action.", AuditLog.Actions.DatasetDelete)
            .WithParameterExample("resource_type", "Only entries about this kind of resource.", AuditLog.Resources.Dataset)
            .WithParameterExample("resource_id", "Only entries about this resource (with resource_type).", "ds_01kaq3m5t8y9c2b7n4x6r0w1zd")
            .WithParameterExample("limit", "How many entries to return (1–200).", DefaultPageSize)
            .WithParameterExample("after", "Return entries older than this id.", "aud_01kaq3m5t8y9c2b7n4x6r0w1zd")
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<AuditEntryResponse>(
            [
                new AuditEntryResponse("aud_01kaq3m5t8y9c2b7n4x6r0w1zd", "audit.entry", new DateTimeOffset(2026, 11, 23, 9, 30, 0, TimeSpan.Zero),
                    "key_01kaq3k0a1b2c3d4e5f6g7h8j9", AuditLog.Actions.DatasetDelete, AuditLog.Resources.Dataset, "ds_01kaq3m5t8y9c2b7n4x6r0w1zd",
                    "10.0.4.17", new Dictionary<string, string> { ["name"] = "clinc150-train" }),
            ], false));
        return app;
    }

    private static async Task<Ok<ListResponse<AuditEntryResponse>>> ListEntries(
        ServiceDbContext db,
        string? action,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "resource_type")] string? resourceType,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "resource_id")] string? resourceId,
        int? limit,
        string? after,
        CancellationToken cancellationToken)
    {
        int pageSize = Paging.ValidateLimit(limit, DefaultPageSize, MaxPageSize);
        var query = db.AuditEntries.AsNoTracking();
        if (action is not null)
        {
            query = query.Where(e => e.Action == action);
        }

        if (resourceType is not null)
        {
            query = query.Where(e => e.ResourceType == resourceType);
        }

        if (resourceId is not null)
        {
            query = query.Where(e => e.ResourceId == resourceId);
        }

        if (after is not null)
        {
            if (!ResourceId.IsWellFormed(after, AuditEntry.IdPrefix))
            {
                throw new RequestValidationException([ProblemError.ForField("after", $"'{after}' is not an audit entry id.")]);
            }

            query = query.Where(e => string.Compare(e.Id, after) < 0);
        }

        var page = await query.OrderByDescending(e => e.Id).Take(pageSize + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ListResponse<AuditEntryResponse>(page.Take(pageSize).Select(AuditEntryResponse.From).ToList(), page.Count > pageSize));
    }
}
