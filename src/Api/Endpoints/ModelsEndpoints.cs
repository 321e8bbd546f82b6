using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Inference.Registry;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Distillation;
using TextClassification.Training.Jobs;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// <c>/v1/models</c>: the registry of trained model versions, their ONNX files, and the aliases (such as
/// <c>production</c>) that predictions resolve through.
/// </summary>
internal static class ModelsEndpoints
{
    public static IEndpointRouteBuilder MapModelsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/models").WithTags("Models");

        group.MapGet("/", ListModels)
            .WithName("ListModels")
            .RequireScope(ApiScopes.PredictPolicy)
            .WithSummary("List registered models with their versions and aliases")
            .WithResponseExample(StatusCodes.Status200OK, new DataResponse<ModelResponse>([Examples.Model]));

        group.MapGet("/{name}", GetModel)
            .WithName("GetModel")
            .RequireScope(ApiScopes.PredictPolicy)
            .WithSummary("Get a model: its versions, newest first, and its aliases")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("name", "The model name.", Examples.Model.Name)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Model);

        group.MapGet("/{name}/versions/{version:int}", GetVersion)
            .WithName("GetModelVersion")
            .RequireScope(ApiScopes.PredictPolicy)
            .WithSummary("Get a model version: labels, metrics, threshold, and its ONNX file's checksum")
            .WithDescription("`sha256` and `size_bytes` describe the ONNX file predictions use (the INT8 one when the job asked for quantization); `artifacts` lists every stored variant. `metrics` is the job's evaluation on its validation data (the same as the job's `evaluation`: per-class figures, confusion matrix, misclassified rows (for train and admin keys only: they are validation texts) and, with an out-of-scope label, the threshold curve); `parity` is the export check against the trained network; `quantization` compares the INT8 graph with the float32 one.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("name", "The model name.", Examples.Model.Name)
            .WithParameterExample("version", "The version number.", 2)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Version);

        group.MapGet("/{name}/versions/{version:int}/onnx", DownloadOnnx)
            .WithName("DownloadModelVersionOnnx")
            .RequireScope(ApiScopes.PredictPolicy)
            .WithSummary("Download a version's ONNX file")
            .WithDescription("A standard ONNX model (opset 17): inputs `input_ids` and `attention_mask` (int64, [batch, sequence]), output `logits` (float32, [batch, labels]). Its metadata holds the labels, the tokenizer and the out-of-scope threshold. `variant` picks `float32` or `int8`; the default is the one predictions use. The file is checked against its SHA-256 before the first byte is sent.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("name", "The model name.", Examples.Model.Name)
            .WithParameterExample("version", "The version number.", 2)
            .WithParameterExample("variant", "float32 or int8; default: the served one.", ModelVersionResponse.Float32)
            .WithResponseExample(StatusCodes.Status200OK, "(binary ONNX model)");

        group.MapDelete("/{name}/versions/{version:int}", DeleteVersion)
            .WithName("DeleteModelVersion")
            .RequireScope(ApiScopes.TrainPolicy)
            .WithSummary("Delete a model version and its files")
            .WithDescription("Refused with 409 while an alias points at the version or a queued or running job starts from it, distils from it or takes its word vectors from it. The outputs kept from it as a teacher go with it.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithParameterExample("name", "The model name.", Examples.Model.Name)
            .WithParameterExample("version", "The version number.", 1)
            .WithResponseExample(StatusCodes.Status204NoContent, "(no content)");

        group.MapPut("/{name}/aliases/{alias}", SetAlias)
            .WithName("SetModelAlias")
            .RequireScope(ApiScopes.TrainPolicy)
            .WithSummary("Point an alias (such as production) at a version")
            .WithDescription("The version is loaded and warmed up before the alias moves, so requests through the alias never wait for a load; requests already running finish on the version they started on. `POST /v1/models/{name}/predict` uses the `production` alias when it exists, else the latest version.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithParameterExample("name", "The model name.", Examples.Model.Name)
            .WithParameterExample("alias", "The alias: a letter, then up to 63 of a-z, 0-9, '.', '_', '-'.", "production")
            .WithRequestExample(new SetAliasRequest(2))
            .WithResponseExample(StatusCodes.Status200OK, Examples.Alias);

        group.MapDelete("/{name}/aliases/{alias}", DeleteAlias)
            .WithName("DeleteModelAlias")
            .RequireScope(ApiScopes.TrainPolicy)
            .WithSummary("Remove an alias")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("name", "The model name.", Examples.Model.Name)
            .WithParameterExample("alias", "The alias.", "staging")
            .WithResponseExample(StatusCodes.Status204NoContent, "(no content)");

        return app;
    }

    private static async Task<Ok<DataResponse<ModelResponse>>> ListModels(ServiceDbContext db, CancellationToken cancellationToken)
    {
        var versions = await db.ModelVersions.AsNoTracking().OrderBy(v => v.ModelName).ThenByDescending(v => v.Version).ToListAsync(cancellationToken);
        var aliases = await db.ModelAliases.AsNoTracking().ToListAsync(cancellationToken);
        return TypedResults.Ok(new DataResponse<ModelResponse>(versions
            .GroupBy(v => v.ModelName, StringComparer.Ordinal)
            .Select(g => Describe(g.Key, g.ToList(), aliases.Where(a => a.ModelName == g.Key)))
            .ToList()));
    }

    private static async Task<Ok<ModelResponse>> GetModel(string name, ServiceDbContext db, CancellationToken cancellationToken)
    {
        var versions = await db.ModelVersions.AsNoTracking().Where(v => v.ModelName == name).OrderByDescending(v => v.Version).ToListAsync(cancellationToken);
        if (versions.Count == 0)
        {
            throw new ApiProblemException(StatusCodes.Status404NotFound, "Model not found.", $"No model named '{name}' is registered.");
        }

        var aliases = await db.ModelAliases.AsNoTracking().Where(a => a.ModelName == name).ToListAsync(cancellationToken);
        return TypedResults.Ok(Describe(name, versions, aliases));
    }

    private static async Task<Ok<ModelVersionResponse>> GetVersion(string name, int version, ServiceDbContext db, HttpContext context, CancellationToken cancellationToken)
    {
        var row = await FindVersionAsync(db, name, version, cancellationToken);
        var aliases = await db.ModelAliases.AsNoTracking()
            .Where(a => a.ModelName == name && a.Version == version)
            .Select(a => a.Alias)
            .ToListAsync(cancellationToken);
        bool readsDatasets = context.Features.Get<AuthenticatedApiKey>()?.Allows(ApiKeyScopes.Train) == true;
        return TypedResults.Ok(ModelVersionResponse.From(row, aliases.Order(StringComparer.Ordinal).ToList(), readsDatasets));
    }

    private static async Task<IResult> DownloadOnnx(
        string name, int version, string? variant, ServiceDbContext db, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        var row = await FindVersionAsync(db, name, version, cancellationToken);
        bool int8 = variant switch
        {
            null => row.QuantizedOnnxArtifactKey is not null,
            ModelVersionResponse.Float32 => false,
            ModelVersionResponse.Int8 => true,
            _ => throw new RequestValidationException([ProblemError.ForField("variant", $"variant must be {ModelVersionResponse.Float32} or {ModelVersionResponse.Int8}.")]),
        };
        var (key, sha256, size) = int8
            ? (row.QuantizedOnnxArtifactKey, row.QuantizedOnnxSha256, row.QuantizedOnnxSizeBytes)
            : (row.OnnxArtifactKey, row.OnnxSha256, row.OnnxSizeBytes);
        if (key is null || sha256 is null || size is null)
        {
            throw new ApiProblemException(StatusCodes.Status404NotFound, "ONNX file not found.",
                int8 ? $"{name}:{version} was not quantized; its job did not ask for dynamic_int8." : $"{name}:{version} has no exported ONNX file.",
                [ProblemError.ForField("variant", $"{name}:{version} has no {(int8 ? ModelVersionResponse.Int8 : ModelVersionResponse.Float32)} file.")]);
        }

        // The store checks length and SHA-256 before returning the stream: a corrupted file is refused, never sent.
        var stream = await artifacts.OpenReadAsync(key, sha256, size.Value, cancellationToken);
        string suffix = int8 ? ".int8" : string.Empty;
        return TypedResults.Stream(stream, "application/octet-stream", $"{name}-{version}{suffix}.onnx",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{sha256}\""));
    }

    private static async Task<NoContent> DeleteVersion(
        string name, int version, ServiceDbContext db, IArtifactStore artifacts, ModelRegistry registry, AuditLog audit, CancellationToken cancellationToken)
    {
        var row = await db.ModelVersions.FirstOrDefaultAsync(v => v.ModelName == name && v.Version == version, cancellationToken)
            ?? throw VersionNotFound(name, version);
        var aliases = await db.ModelAliases.AsNoTracking().Where(a => a.ModelName == name && a.Version == version).Select(a => a.Alias).ToListAsync(cancellationToken);
        if (aliases.Count > 0)
        {
            throw new ResourceConflictException(
                $"{name}:{version} is what the alias{(aliases.Count > 1 ? "es" : string.Empty)} {string.Join(", ", aliases.Order(StringComparer.Ordinal))} point{(aliases.Count > 1 ? string.Empty : "s")} at; move or delete {(aliases.Count > 1 ? "them" : "it")} first.");
        }

        string reference = $"{name}:{version}";
        var readers = await db.FineTuningJobs.AsNoTracking().ThatRead(reference)
            .OrderBy(j => j.Id).Select(j => j.Id).Take(20).ToListAsync(cancellationToken);
        if (readers.Count > 0)
        {
            throw new ResourceConflictException(
                $"{readers.Count} queued or running fine-tuning job(s) start from {reference}, are taught by it or take their word vectors from it ({string.Join(", ", readers)}); cancel them or wait for them to end.");
        }

        var teacherOutputs = await StoredTeacherOutputs.ComputedByAsync(db, row, cancellationToken);
        db.TeacherOutputs.RemoveRange(teacherOutputs);
        db.ModelVersions.Remove(row);
        audit.Add(AuditLog.Actions.ModelVersionDelete, AuditLog.Resources.ModelVersion, reference, new() { ["job_id"] = row.JobId });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The foreign key from model_aliases: an alias moved onto this version after the check above.
            throw new ResourceConflictException($"An alias now points at {reference}; move or delete it first.");
        }

        registry.Unload(name, version);
        foreach (var key in new[] { row.OnnxArtifactKey, row.QuantizedOnnxArtifactKey, row.CheckpointArtifactKey }.Concat(teacherOutputs.Select(t => t.ArtifactKey)))
        {
            if (key is not null)
            {
                artifacts.Delete(key);
            }
        }

        return TypedResults.NoContent();
    }

    private static async Task<Ok<ModelAliasResponse>> SetAlias(
        string name, string alias, SetAliasRequest? request, ServiceDbContext db, ModelRegistry registry, TimeProvider clock, AuditLog audit, CancellationToken cancellationToken)
    {
        ValidateAlias(alias);
        if (request?.Version is not { } version)
        {
            throw new RequestValidationException([ProblemError.ForField("version", "version is required: the model version the alias points at.")]);
        }

        await FindVersionAsync(db, name, version, cancellationToken, field: "version");

        // Load and warm the target first: once the alias moves, the next request finds the session ready. A version
        // that cannot be served (never exported, corrupted file) fails here and the alias stays where it was.
        await registry.LoadAsync(name, version, cancellationToken);

        var row = await db.ModelAliases.FirstOrDefaultAsync(a => a.ModelName == name && a.Alias == alias, cancellationToken);
        if (row is null)
        {
            row = new ModelAlias { ModelName = name, Alias = alias };
            db.ModelAliases.Add(row);
        }

        var details = new Dictionary<string, string> { ["version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (db.Entry(row).State != EntityState.Added)
        {
            details["previous_version"] = row.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        row.Version = version;
        row.UpdatedAt = clock.GetUtcNow();
        audit.Add(AuditLog.Actions.AliasSet, AuditLog.Resources.ModelAlias, $"{name}/{alias}", details);
        await db.SaveChangesAsync(cancellationToken);
        registry.AliasesChanged(name);
        return TypedResults.Ok(ModelAliasResponse.From(row));
    }

    private static async Task<NoContent> DeleteAlias(string name, string alias, ServiceDbContext db, ModelRegistry registry, AuditLog audit, CancellationToken cancellationToken)
    {
        int deleted = await db.ModelAliases.Where(a => a.ModelName == name && a.Alias == alias).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
        {
            throw new ApiProblemException(StatusCodes.Status404NotFound, "Alias not found.", $"Model '{name}' has no alias '{alias}'.");
        }

        registry.AliasesChanged(name);
        // A set-based delete bypasses the change tracker, so its entry is saved right after it.
        await audit.WriteAsync(AuditLog.Actions.AliasDelete, AuditLog.Resources.ModelAlias, $"{name}/{alias}");
        return TypedResults.NoContent();
    }

    private static ModelResponse Describe(string name, IReadOnlyList<ModelVersion> versionsNewestFirst, IEnumerable<ModelAlias> aliases) => new(
        name,
        "model",
        versionsNewestFirst[0].Version,
        aliases.OrderBy(a => a.Alias, StringComparer.Ordinal).ToDictionary(a => a.Alias, a => a.Version),
        versionsNewestFirst.Select(v => new ModelVersionSummary(
            v.Version, v.Architecture, System.Text.Json.JsonSerializer.Deserialize<string[]>(v.LabelsJson)?.Length ?? 0, v.JobId, v.OnnxArtifactKey is not null, v.CreatedAt)).ToList(),
        versionsNewestFirst[^1].CreatedAt,
        versionsNewestFirst[0].CreatedAt);

    private static async Task<ModelVersion> FindVersionAsync(ServiceDbContext db, string name, int version, CancellationToken cancellationToken, string? field = null) =>
        await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.ModelName == name && v.Version == version, cancellationToken)
            ?? throw VersionNotFound(name, version, field);

    private static ApiProblemException VersionNotFound(string name, int version, string? field = null) =>
        new(StatusCodes.Status404NotFound, "Model version not found.", $"No version {version} of model '{name}' is registered.",
            field is null ? null : [ProblemError.ForField(field, $"{name}:{version} does not exist.")]);

    private static void ValidateAlias(string alias)
    {
        // An alias is a model name that starts with a letter, so that no alias can be read as a version number.
        if (alias.Length == 0 || !char.IsAsciiLetterLower(alias[0]) || !ModelReference.IsValidName(alias))
        {
            throw new RequestValidationException([ProblemError.ForField("alias",
                $"'{alias}' is not a valid alias: start with a letter, then up to 63 of a-z, 0-9, '.', '_' and '-'.")]);
        }
    }

    private static class Examples
    {
        private static readonly DateTimeOffset Created = new(2026, 11, 23, 9, 31, 14, TimeSpan.Zero);

        public static readonly ModelResponse Model = new(
            "support-intents", "model", 2, new Dictionary<string, int> { ["production"] = 2 },
            [new ModelVersionSummary(2, "ngram-bag", 150, "ftjob_01kaq4c2m8x3v5b7n9p1r3t5w7", true, Created.AddDays(1)),
             new ModelVersionSummary(1, "ngram-bag", 150, "ftjob_01kaq3z9d4f6h8k1m3p5r7t9v1", true, Created)],
            Created, Created.AddDays(1));

        public static readonly ModelVersionResponse Version = new(
            "model.version", "support-intents", 2, "ngram-bag", ["balance", "card_declined", "transfer"], 0.42,
            "ftjob_01kaq4c2m8x3v5b7n9p1r3t5w7", ["production"],
            "3f7a0c9e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a", 14_211_336, 17,
            [new ModelArtifactResponse(ModelVersionResponse.Float32, "3f7a0c9e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a", 14_211_336, 17, true)],
            System.Text.Json.JsonDocument.Parse("""{"examples":1500,"accuracy":0.9302,"macro_f1":0.9298}""").RootElement,
            System.Text.Json.JsonDocument.Parse("""{"max_abs_difference":2.4e-6}""").RootElement,
            null,
            Created.AddDays(1));

        public static readonly ModelAliasResponse Alias = new("model.alias", "support-intents", "production", 2, Created.AddDays(1).AddMinutes(5));
    }
}
