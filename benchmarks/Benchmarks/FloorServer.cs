using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TextClassification.Benchmarks;

/// <summary>
/// The floor no service on this machine can beat (issue 13): a minimal ASP.NET Core app with the service's routes
/// for <c>/v1</c> predict and <c>/v2</c> infer that reads the same JSON body into a typed request, with the
/// service's JSON naming, and answers a constant JSON body shaped like the service's answer for one text (the
/// <c>/v2</c> one with as many probabilities as the model has labels). No key, no rate limit, no model: what
/// Kestrel, routing and System.Text.Json alone cost per request. Runs in a process of its own
/// (<c>Benchmarks floor &lt;port&gt; &lt;labels&gt;</c>) so that it is measured as the service is.
/// </summary>
internal static class FloorServer
{
    public static async Task<int> RunAsync(int port, int labels)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.Configure<JsonOptions>(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        });
        var app = builder.Build();

        var predictAnswer = new FloorPredictResponse("clinc150", 1,
            [new FloorPrediction("balance", 0.91f, false, [new FloorLabelScore("balance", 0.91f)])]);
        app.MapPost("/v1/models/{name}/predict", (string name, FloorPredictRequest request) =>
            request.Inputs is { Count: > 0 } ? Results.Ok(predictAnswer) : Results.BadRequest());

        var inferAnswer = new FloorInferResponse("clinc150", "1", null,
        [
            new FloorOutput("label", "BYTES", [1], new[] { "balance" }),
            new FloorOutput("probabilities", "FP32", [1, labels], Enumerable.Range(0, labels).Select(i => 1f / (i + 2)).ToArray()),
            new FloorOutput("out_of_scope", "BOOL", [1], new[] { false }),
        ]);
        app.MapPost("/v2/models/{name}/infer", (string name, FloorInferRequest request) =>
            request.Inputs is { Count: > 0 } ? Results.Ok(inferAnswer) : Results.BadRequest());
        app.MapGet("/ready", () => Results.Ok());

        await app.RunAsync();
        return 0;
    }

    internal sealed record FloorPredictRequest(List<string?>? Inputs, int? TopK);

    internal sealed record FloorLabelScore(string Label, float Score);

    internal sealed record FloorPrediction(string? Label, float Score, bool OutOfScope, List<FloorLabelScore> TopK);

    internal sealed record FloorPredictResponse(string Model, int Version, List<FloorPrediction> Predictions);

    internal sealed record FloorInput(string Name, List<long> Shape, string Datatype, JsonElement Data);

    internal sealed record FloorInferRequest(string? Id, List<FloorInput>? Inputs);

    internal sealed record FloorOutput(string Name, string Datatype, long[] Shape, object Data);

    internal sealed record FloorInferResponse(string ModelName, string ModelVersion, string? Id, List<FloorOutput> Outputs);
}
