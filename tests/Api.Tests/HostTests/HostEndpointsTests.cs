using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.HostTests;

/// <summary>What every deployment relies on: health, the OpenAPI document and Swagger UI, and process roles.</summary>
public abstract class HostEndpointsTests<TFixture>(TFixture service) : IClassFixture<TFixture>
    where TFixture : ServiceFixture
{
    [Fact]
    public async Task Liveness_and_readiness_report_healthy_with_the_database_and_job_storage_checked()
    {
        var live = await (await service.Client.GetAsync("/health/live")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("healthy", (string)live["status"]!);

        var ready = await (await service.Client.GetAsync("/health/ready")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("healthy", (string)ready["status"]!);
        Assert.Equal("healthy", (string)ready["checks"]!["database"]!["status"]!);
        Assert.Equal("healthy", (string)ready["checks"]!["hangfire"]!["status"]!);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_operation_with_a_summary_description_and_example()
    {
        var document = await (await service.Client.GetAsync("/swagger/v1/swagger.json")).ReadJsonAsync(HttpStatusCode.OK);

        var operations = document["paths"]!.AsObject()
            .Where(path => path.Key.StartsWith("/v1/", StringComparison.Ordinal))
            .SelectMany(path => path.Value!.AsObject().Select(op => (Name: $"{op.Key.ToUpperInvariant()} {path.Key}", Operation: op.Value!)))
            .ToList();
        Assert.NotEmpty(operations);
        foreach (var (name, operation) in operations)
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)operation["summary"]), $"{name} has no summary");
            Assert.True(HasExample(operation), $"{name} has no example");
        }

        Assert.Contains(operations, o => o.Name == "POST /v1/datasets");
        var upload = operations.Single(o => o.Name == "POST /v1/datasets").Operation;
        Assert.NotNull(upload["requestBody"]!["content"]!["multipart/form-data"]);
        Assert.NotNull(upload["description"]);
    }

    [Fact]
    public async Task Swagger_ui_is_served()
    {
        var response = await service.Client.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Unknown_routes_get_a_problem_details_404()
    {
        await (await service.Client.GetAsync("/v1/nothing-here")).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_worker_only_process_serves_health_but_not_the_api()
    {
        await using var worker = service.Restart(new Dictionary<string, string?> { ["Jobs:Role"] = "Worker" });
        using var client = worker.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/datasets")).StatusCode);
    }

    private static bool HasExample(JsonNode operation)
    {
        // An example on a response, on the request body, or on a parameter counts.
        bool InContent(JsonNode? content) => content?.AsObject().Any(media => media.Value?["example"] is not null) == true;
        return (operation["responses"]?.AsObject().Any(r => InContent(r.Value?["content"])) ?? false)
            || InContent(operation["requestBody"]?["content"])
            || (operation["parameters"]?.AsArray().Any(p => p?["example"] is not null) ?? false);
    }
}

public sealed class HostEndpointsOnSqliteTests(SqliteServiceFixture service) : HostEndpointsTests<SqliteServiceFixture>(service);

public sealed class HostEndpointsOnPostgresTests(PostgresServiceFixture service) : HostEndpointsTests<PostgresServiceFixture>(service);
