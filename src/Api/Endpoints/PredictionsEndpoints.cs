using Microsoft.AspNetCore.Http.HttpResults;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Inference.Predictions;
using TextClassification.Inference.Registry;

namespace TextClassification.Api.Endpoints;

/// <summary><c>POST /v1/models/{name}[/versions/{version}]/predict</c>: classify texts with a registered model.</summary>
internal static class PredictionsEndpoints
{
    private const string Description = """
        Classifies each text in `inputs` (at least one; at most `Inference:MaxInputsPerRequest`, 256 by default; each
        at most `Inference:MaxTextLength` characters). For each text: `label` and its `score` (softmax probability),
        and its `top_k` best labels, best first. `top_k` may be left out: it is then the smaller of
        `Inference:DefaultTopK` (3 by default) and the model's label count, so a two-label model lists both; a `top_k`
        that is named must be between 1 and the model's label count, else the request is refused with 400. When the
        best score is below the model's out-of-scope threshold, `label` is null and `out_of_scope` is true: the model
        does not know. Without a version the `production` alias is used when it exists, else the latest version.
        Concurrent requests are batched on the server.
        """;

    public static IEndpointRouteBuilder MapPredictionsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/models").WithTags("Predictions").CountsProtocolRequests("v1")
            .RequireScope(ApiScopes.PredictionsPolicy)
            .WithBodyLimit(RequestBodyLimit.Predictions);

        group.MapPost("/{name}/predict", PredictDefault)
            .WithName("Predict")
            .WithSummary("Classify texts with a model's production version (else its latest)")
            .WithDescription(Description)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithParameterExample("name", "The model name.", Examples.Response.Model)
            .WithRequestExample(Examples.Request)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Response);

        group.MapPost("/{name}/versions/{version:int}/predict", PredictVersion)
            .WithName("PredictWithVersion")
            .WithSummary("Classify texts with one version of a model")
            .WithDescription(Description)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithParameterExample("name", "The model name.", Examples.Response.Model)
            .WithParameterExample("version", "The version number.", Examples.Response.Version)
            .WithRequestExample(Examples.Request)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Response);

        return app;
    }

    private static Task<Ok<PredictResponse>> PredictDefault(string name, PredictRequest? request, PredictionService predictions, CancellationToken cancellationToken) =>
        PredictAsync(new ModelSelector(name), request, predictions, cancellationToken);

    private static Task<Ok<PredictResponse>> PredictVersion(string name, int version, PredictRequest? request, PredictionService predictions, CancellationToken cancellationToken) =>
        PredictAsync(new ModelSelector(name, version), request, predictions, cancellationToken);

    private static async Task<Ok<PredictResponse>> PredictAsync(ModelSelector selector, PredictRequest? request, PredictionService predictions, CancellationToken cancellationToken)
    {
        if (request?.Inputs is null)
        {
            throw new RequestValidationException([ProblemError.ForField("inputs", "inputs is required: a list of texts to classify.")]);
        }

        var result = await predictions.PredictAsync(selector, request.Inputs, request.TopK, cancellationToken);
        return TypedResults.Ok(PredictResponse.From(result));
    }

    private static class Examples
    {
        public static readonly PredictRequest Request = new(["I lost my card, can you block it?", "what's the weather on mars"], 2);

        public static readonly PredictResponse Response = new("support-intents", 2,
        [
            new PredictionResponse("report_lost_card", 0.91f, false, [new LabelScoreResponse("report_lost_card", 0.91f), new LabelScoreResponse("freeze_account", 0.04f)]),
            new PredictionResponse(null, 0.18f, true, [new LabelScoreResponse("weather", 0.18f), new LabelScoreResponse("travel_alert", 0.07f)]),
        ]);
    }
}
