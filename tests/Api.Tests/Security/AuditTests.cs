using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.Security;

/// <summary>Every change is recorded with who made it, and nothing secret or private goes into the record.</summary>
public sealed class AuditTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task Every_kind_of_change_is_recorded_with_the_key_that_made_it_and_refused_requests_are_not()
    {
        var admin = service.Client;
        // The class shares one service, so other tests' entries may already be there: the counts below are of the
        // entries this test added.
        var earlier = (await AllEntriesAsync(admin)).Select(e => (string)e["id"]!).ToHashSet(StringComparer.Ordinal);
        var (trainerId, trainerSecret) = await SecurityApi.CreateKeyAsync(admin, "train");
        var (predictorId, predictSecret) = await SecurityApi.CreateKeyAsync(admin, "predict");
        using var trainer = SecurityApi.ClientWithKey(service.Factory, trainerSecret);
        using var predictor = SecurityApi.ClientWithKey(service.Factory, predictSecret);
        string csv = SyntheticIntents.Csv(["balance", "transfer", "greeting"], 20, seed: 5);

        string dataset = await JobsApi.UploadAsync(trainer, csv, "audited.csv");
        string job = (string)(await JobsApi.CreateAsync(trainer, new { training_dataset_id = dataset, model = "audited", hyperparameters = new { epochs = 1 } }))["id"]!;
        var done = await JobsApi.WaitForEndAsync(trainer, job, TimeSpan.FromMinutes(3));
        Assert.True((string)done["status"]! == "succeeded", done.ToJsonString());
        string cancelled = (string)(await JobsApi.CreateAsync(trainer, new { training_dataset_id = dataset, model = "audited-2", hyperparameters = new { epochs = 50 } }))["id"]!;
        await (await trainer.PostAsync($"/v1/fine-tuning/jobs/{cancelled}/cancel", null)).ReadJsonAsync(HttpStatusCode.OK);
        await (await trainer.PutAsync("/v1/models/audited/aliases/staging", HttpAssertions.JsonBody(new { version = 1 }))).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NoContent, (await trainer.DeleteAsync("/v1/models/audited/aliases/staging")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await trainer.DeleteAsync("/v1/models/audited/versions/1")).StatusCode);
        string doomed = await JobsApi.UploadAsync(trainer, csv, "doomed.csv");
        Assert.Equal(HttpStatusCode.NoContent, (await trainer.DeleteAsync($"/v1/datasets/{doomed}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/v1/api-keys/{trainerId}")).StatusCode);

        // Refused: wrong scope, unknown resource, bad input. None of them is a change.
        Assert.Equal(HttpStatusCode.Forbidden, (await predictor.DeleteAsync($"/v1/datasets/{dataset}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/v1/datasets/ds_00000000000000000000000000")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/v1/api-keys", HttpAssertions.JsonBody(new { name = "x", scopes = new[] { "root" } }))).StatusCode);

        var entries = await AllEntriesAsync(admin);
        string adminId = await AdminKeyIdAsync(admin);
        void Recorded(string action, string resourceId, string actor)
        {
            var entry = entries.SingleOrDefault(e => (string)e["action"]! == action && (string)e["resource_id"]! == resourceId);
            Assert.True(entry is not null, $"No {action} of {resourceId} in {new JsonArray([.. entries.Select(e => e.DeepClone())]).ToJsonString()}");
            Assert.Equal(actor, (string)entry!["actor"]!);
            Assert.False(string.IsNullOrEmpty((string?)entry["occurred_at"]));
        }

        Recorded("api_key.create", trainerId, adminId);
        Recorded("dataset.upload", dataset, trainerId);
        Recorded("fine_tuning_job.create", job, trainerId);
        Recorded("fine_tuning_job.cancel", cancelled, trainerId);
        Recorded("model_alias.set", "audited/staging", trainerId);
        Recorded("model_alias.delete", "audited/staging", trainerId);
        Recorded("model_version.delete", "audited:1", trainerId);
        Recorded("dataset.delete", doomed, trainerId);
        Recorded("api_key.revoke", trainerId, adminId);
        Assert.Contains(entries, e => (string)e["action"]! == "api_key.create" && (string)e["actor"]! == "bootstrap");

        // Exactly the changes made here, so none of the refused requests left an entry.
        var added = entries.Where(e => !earlier.Contains((string)e["id"]!)).ToList();
        string[] ResourcesOf(string action) =>
            [.. added.Where(e => (string)e["action"]! == action).Select(e => (string)e["resource_id"]!).Order(StringComparer.Ordinal)];
        Assert.Equal(new[] { trainerId, predictorId }.Order(StringComparer.Ordinal), ResourcesOf("api_key.create"));
        Assert.Equal(new[] { dataset, doomed }.Order(StringComparer.Ordinal), ResourcesOf("dataset.upload"));
        Assert.Equal([doomed], ResourcesOf("dataset.delete"));

        string all = new JsonArray([.. entries.Select(e => e.DeepClone())]).ToJsonString();
        Assert.DoesNotContain(trainerSecret, all, StringComparison.Ordinal);
        Assert.DoesNotContain(predictSecret, all, StringComparison.Ordinal);
        Assert.DoesNotContain(ServiceFactory.AdminKey, all, StringComparison.Ordinal);
        foreach (string row in csv.Split('\n').Skip(1).Take(20))
        {
            Assert.DoesNotContain(row.Split(',')[0], all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_audit_list_pages_newest_first_and_filters_by_action_and_resource()
    {
        var (id, _) = await SecurityApi.CreateKeyAsync(service.Client, "predict");
        Assert.Equal(HttpStatusCode.NoContent, (await service.Client.DeleteAsync($"/v1/api-keys/{id}")).StatusCode);

        var revokes = await (await service.Client.GetAsync($"/v1/audit?action=api_key.revoke&resource_type=api_key&resource_id={id}")).ReadJsonAsync(HttpStatusCode.OK);
        var only = Assert.Single(revokes["data"]!.AsArray());
        Assert.Equal(id, (string)only!["resource_id"]!);

        var first = await (await service.Client.GetAsync("/v1/audit?limit=1")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.True((bool)first["has_more"]!);
        string newest = (string)first["data"]![0]!["id"]!;
        var next = await (await service.Client.GetAsync($"/v1/audit?limit=1&after={newest}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.True(string.CompareOrdinal((string)next["data"]![0]!["id"]!, newest) < 0);

        var bad = await (await service.Client.GetAsync("/v1/audit?after=nope")).ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("after", bad["errors"]!.AsArray().Select(e => (string?)e!["field"]));
    }

    private static async Task<List<JsonNode>> AllEntriesAsync(HttpClient admin)
    {
        var entries = new List<JsonNode>();
        string? after = null;
        while (true)
        {
            var page = await (await admin.GetAsync("/v1/audit?limit=200" + (after is null ? string.Empty : $"&after={after}"))).ReadJsonAsync(HttpStatusCode.OK);
            entries.AddRange(page["data"]!.AsArray().Select(e => e!));
            if (!(bool)page["has_more"]!)
            {
                return entries;
            }

            after = (string)entries[^1]["id"]!;
        }
    }

    private static async Task<string> AdminKeyIdAsync(HttpClient admin)
    {
        var keys = await (await admin.GetAsync("/v1/api-keys")).ReadJsonAsync(HttpStatusCode.OK);
        return (string)keys["data"]!.AsArray().Single(k => (string)k!["created_by"]! == "bootstrap")!["id"]!;
    }
}
