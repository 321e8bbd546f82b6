using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Inference;
using TextClassification.Inference.Predictions;
using TextClassification.Inference.Registry;
using TextClassification.Persistence;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// The Open Inference Protocol (KServe v2) over REST, so KServe and Triton clients work unchanged: health, server and
/// model metadata, readiness, and inference with a <c>BYTES</c> input <c>text</c> [N]. A thin adapter over the same
/// <see cref="PredictionService"/> as <c>/v1</c>; errors are the protocol's <c>{"error": "..."}</c>, written by
/// <see cref="ErrorResponses"/> like every other error of the API.
/// </summary>
internal static class OpenInferenceEndpoints
{
    public const string TextInput = "text";
    public const string LabelOutput = "label";
    public const string ProbabilitiesOutput = "probabilities";
    public const string OutOfScopeOutput = "out_of_scope";
    private const string Bytes = "BYTES";
    private const string Fp32 = "FP32";
    private const string Bool = "BOOL";
    private static readonly string[] KnownOutputs = [LabelOutput, ProbabilitiesOutput, OutOfScopeOutput];

    public static IEndpointRouteBuilder MapOpenInferenceEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(ErrorResponses.OpenInferencePrefix).WithTags("Open Inference Protocol (v2)");

        group.MapGet("/health/live", () => TypedResults.Ok(new OipLiveResponse(true)))
            .IsHealthProbe()
            .WithName("OipServerLive")
            .WithSummary("Server liveness (200 while the process runs)")
            .WithResponseExample(StatusCodes.Status200OK, new OipLiveResponse(true));

        group.MapGet("/health/ready", ServerReady)
            .IsHealthProbe()
            .WithName("OipServerReady")
            .WithSummary("Server readiness: 200 when the database and job storage answer, else 503")
            .Produces<OipReadyResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithResponseExample(StatusCodes.Status200OK, new OipReadyResponse(true));

        group.MapGet("/", () => TypedResults.Ok(ServerMetadata))
            .RequireScope(ApiScopes.PredictionsPolicy)
            .WithName("OipServerMetadata")
            .WithSummary("Server name, version and protocol extensions")
            .WithResponseExample(StatusCodes.Status200OK, ServerMetadata);

        foreach (string prefix in (string[])["/models/{name}", "/models/{name}/versions/{version}"])
        {
            bool versioned = prefix.Contains("{version}", StringComparison.Ordinal);
            string suffix = versioned ? "Version" : string.Empty;
            string which = versioned ? "one version of a model" : "a model's production version (else its latest)";

            var metadata = group.MapGet(prefix, ModelMetadata)
                .RequireScope(ApiScopes.PredictionsPolicy)
                .WithName("OipModelMetadata" + suffix)
                .WithSummary($"Metadata of {which}: its input and output tensors")
                .Produces<OipError>(StatusCodes.Status404NotFound)
                .WithParameterExample("name", "The model name.", Examples.Metadata.Name)
                .WithResponseExample(StatusCodes.Status200OK, Examples.Metadata);

            var ready = group.MapGet(prefix + "/ready", ModelReady)
                .RequireScope(ApiScopes.PredictionsPolicy)
                .WithName("OipModelReady" + suffix)
                .WithSummary($"Readiness of {which}: 200 once its session is loaded and warmed up")
                .Produces<OipError>(StatusCodes.Status404NotFound)
                .Produces<OipError>(StatusCodes.Status503ServiceUnavailable)
                .WithParameterExample("name", "The model name.", Examples.Metadata.Name)
                .WithResponseExample(StatusCodes.Status200OK, new OipModelReadyResponse(Examples.Metadata.Name, "2", true));

            var infer = group.MapPost(prefix + "/infer", Infer)
                .CountsProtocolRequests("v2")
                .RequireScope(ApiScopes.PredictionsPolicy)
                .WithBodyLimit(RequestBodyLimit.Predictions)
                .WithName("OipInfer" + suffix)
                .WithSummary($"Classify texts with {which}")
                .WithDescription("""
                    One `BYTES` input named `text` with shape [N] holding N texts. Outputs: `label` (`BYTES` [N]; the empty
                    string where the model does not know, that is below its out-of-scope threshold), `probabilities`
                    (`FP32` [N, labels], in the order of the model metadata's `labels` parameter) and `out_of_scope`
                    (`BOOL` [N]). Ask for a subset with `outputs`. Errors are `{"error": "..."}`: 400 for a bad request,
                    404 for an unknown model or version, 503 for a model that cannot be served.
                    """)
                .AddOpenApiOperationTransformer(DescribeInferRequestAsync)
                .Produces<OipError>(StatusCodes.Status400BadRequest)
                .Produces<OipError>(StatusCodes.Status404NotFound)
                .Produces<OipError>(StatusCodes.Status503ServiceUnavailable)
                .WithParameterExample("name", "The model name.", Examples.Metadata.Name)
                .WithRequestExample(Examples.Request)
                .WithResponseExample(StatusCodes.Status200OK, Examples.Response);

            if (versioned)
            {
                metadata.WithParameterExample("version", "The version number.", "2");
                ready.WithParameterExample("version", "The version number.", "2");
                infer.WithParameterExample("version", "The version number.", "2");
            }
        }

        return app;
    }

    private static readonly OipServerMetadata ServerMetadata = new(
        "text-classification-service",
        typeof(OpenInferenceEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0.0",
        []);

    private static async Task<IResult> ServerReady(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(PersistenceServiceCollectionExtensions.ReadinessTag), cancellationToken);
        bool ready = report.Status == HealthStatus.Healthy;
        return TypedResults.Json(new OipReadyResponse(ready), statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> ModelMetadata(string name, string? version, ModelRegistry registry, ServiceDbContext db, CancellationToken cancellationToken)
    {
        var model = await registry.GetAsync(Selector(name, version), cancellationToken);
        var versions = await db.ModelVersions.AsNoTracking().Where(v => v.ModelName == name).OrderBy(v => v.Version).Select(v => v.Version).ToListAsync(cancellationToken);
        return TypedResults.Ok(Describe(model, versions));
    }

    private static async Task<IResult> ModelReady(string name, string? version, ModelRegistry registry, CancellationToken cancellationToken)
    {
        // Loading is lazy: asking whether a model is ready loads and warms it, and it is ready once that succeeded.
        var model = await registry.GetAsync(Selector(name, version), cancellationToken);
        return TypedResults.Ok(new OipModelReadyResponse(model.Name, Format(model.Version), true));
    }

    private static async Task<IResult> Infer(
        string name, string? version, HttpContext context, PredictionService predictions, IOptions<JsonOptions> json, CancellationToken cancellationToken)
    {
        var selector = Selector(name, version);
        var request = await ReadRequestAsync(context.Request, json.Value.SerializerOptions, cancellationToken);
        var (texts, outputs) = Validate(request);
        var result = await predictions.PredictAsync(selector, texts, topK: 1, cancellationToken);
        int labels = result.Labels.Count;
        var response = new List<OipResponseOutput>(outputs.Count);
        foreach (string output in outputs)
        {
            response.Add(output switch
            {
                LabelOutput => new OipResponseOutput(LabelOutput, Bytes, [texts.Count], result.Predictions.Select(p => p.Label ?? string.Empty).ToArray()),
                ProbabilitiesOutput => new OipResponseOutput(ProbabilitiesOutput, Fp32, [texts.Count, labels], result.Predictions.SelectMany(p => p.Probabilities).ToArray()),
                _ => new OipResponseOutput(OutOfScopeOutput, Bool, [texts.Count], result.Predictions.Select(p => p.OutOfScope).ToArray()),
            });
        }

        return TypedResults.Ok(new OipInferenceResponse(result.Model, Format(result.Version), request.Id, response));
    }

    private static async Task<OipInferenceRequest> ReadRequestAsync(HttpRequest request, JsonSerializerOptions options, CancellationToken cancellationToken)
    {
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"The request body must be JSON (application/json), not {type}.");
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<OipInferenceRequest>(request.Body, options, cancellationToken)
                ?? throw new InvalidInputException("The request body must be a JSON object with an 'inputs' list.");
        }
        catch (JsonException e)
        {
            string position = $"line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}";
            string where = e.Path is null or "$" ? position : $"'{e.Path.TrimStart('$', '.')}' ({position})";
            throw new InvalidInputException($"The request body is not a valid inference request: the JSON at {where} is malformed or of the wrong type.");
        }
    }

    /// <summary>The texts of the one <c>text</c> input, and the outputs to return, or an error naming what is wrong.</summary>
    private static (List<string?> Texts, IReadOnlyList<string> Outputs) Validate(OipInferenceRequest request)
    {
        if (request.Inputs is not { Count: > 0 } inputs)
        {
            throw new InvalidInputException("'inputs' must list one input named 'text'.");
        }

        if (inputs.Any(i => i is null))
        {
            throw new InvalidInputException("Every entry of 'inputs' must be an input object; one is null.");
        }

        if (inputs.Count != 1 || inputs[0].Name != TextInput)
        {
            throw new InvalidInputException($"Expected exactly one input named 'text'; got {string.Join(", ", inputs.Select(i => $"'{i.Name}'"))}.");
        }

        var input = inputs[0];
        if (input.Datatype != Bytes)
        {
            throw new InvalidInputException($"Input 'text' must have datatype BYTES, not '{input.Datatype}'.");
        }

        if (input.Data.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidInputException("Input 'text' must have 'data': an array of strings.");
        }

        var texts = new List<string?>(input.Data.GetArrayLength());
        foreach (var element in input.Data.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String)
            {
                throw new InvalidInputException($"Input 'text' data[{texts.Count}] must be a string, not {element.ValueKind.ToString().ToLowerInvariant()}.", texts.Count);
            }

            try
            {
                texts.Add(element.GetString());
            }
            catch (InvalidOperationException)
            {
                // A JSON escape of a lone UTF-16 surrogate ("\ud800") is valid JSON but no text.
                throw new InvalidInputException($"Input 'text' data[{texts.Count}] is not valid Unicode text (it holds a lone surrogate escape).", texts.Count);
            }
        }

        if (input.Shape is not { Count: 1 } shape || shape[0] != texts.Count)
        {
            throw new InvalidInputException(
                $"Input 'text' has shape [{string.Join(", ", input.Shape ?? [])}] but {texts.Count} element(s); the shape must be [{texts.Count}].");
        }

        IReadOnlyList<string> outputs = KnownOutputs;
        if (request.Outputs is { Count: > 0 } requested)
        {
            if (requested.Any(o => o is null))
            {
                throw new InvalidInputException("Every entry of 'outputs' must be an output object with a name; one is null.");
            }

            var unknown = requested.FirstOrDefault(o => o.Name is null || !KnownOutputs.Contains(o.Name));
            if (unknown is not null)
            {
                throw new InvalidInputException($"Unknown output '{unknown.Name}'; this model has {string.Join(", ", KnownOutputs)}.");
            }

            outputs = requested.Select(o => o.Name!).Distinct(StringComparer.Ordinal).ToList();
        }

        return (texts, outputs);
    }

    /// <summary>
    /// Declares the request body in the OpenAPI document. The handler reads the body itself so that every failure,
    /// a wrong media type included, answers in the protocol's <c>{"error"}</c> shape; declaring it with Accepts
    /// would make routing refuse other media types with a 415 problem before the handler runs.
    /// </summary>
    private static async Task DescribeInferRequestAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "An Open Inference Protocol inference request with one BYTES input named text.",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(OipInferenceRequest), null, cancellationToken) },
            },
        };
    }

    private static OipModelMetadata Describe(LoadedModel model, IReadOnlyList<int> versions) => new(
        model.Name,
        versions.Select(Format).ToList(),
        "onnxruntime_onnx",
        [new OipTensorMetadata(TextInput, Bytes, [-1])],
        [
            new OipTensorMetadata(LabelOutput, Bytes, [-1]),
            new OipTensorMetadata(ProbabilitiesOutput, Fp32, [-1, model.Metadata.Labels.Count]),
            new OipTensorMetadata(OutOfScopeOutput, Bool, [-1]),
        ],
        new Dictionary<string, object?>
        {
            ["version"] = Format(model.Version),
            ["labels"] = model.Metadata.Labels,
            ["out_of_scope_threshold"] = model.Metadata.OutOfScopeThreshold,
            ["architecture"] = model.Metadata.Architecture,
            ["execution_provider"] = model.ExecutionProvider,
            ["quantized"] = model.Quantized,
        });

    private static ModelSelector Selector(string name, string? version)
    {
        if (version is null)
        {
            return new ModelSelector(name);
        }

        return int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out int number) && number >= 1
            ? new ModelSelector(name, number)
            : throw new InvalidInputException($"'{version}' is not a model version: versions are whole numbers from 1.");
    }

    private static string Format(int version) => version.ToString(CultureInfo.InvariantCulture);

    private static class Examples
    {
        public static readonly OipModelMetadata Metadata = new(
            "support-intents", ["1", "2"], "onnxruntime_onnx",
            [new OipTensorMetadata(TextInput, Bytes, [-1])],
            [new OipTensorMetadata(LabelOutput, Bytes, [-1]), new OipTensorMetadata(ProbabilitiesOutput, Fp32, [-1, 3]), new OipTensorMetadata(OutOfScopeOutput, Bool, [-1])],
            new Dictionary<string, object?> { ["version"] = "2", ["labels"] = new[] { "balance", "card_declined", "transfer" }, ["out_of_scope_threshold"] = 0.42, ["architecture"] = "ngram-bag", ["execution_provider"] = "CPU", ["quantized"] = false });

        public static readonly OipInferenceRequest Request = new("req-1",
            [new OipRequestInput(TextInput, [2], Bytes, JsonDocument.Parse("""["what is my balance", "tell me a joke"]""").RootElement)], null);

        public static readonly OipInferenceResponse Response = new("support-intents", "2", "req-1",
        [
            new OipResponseOutput(LabelOutput, Bytes, [2], new[] { "balance", string.Empty }),
            new OipResponseOutput(ProbabilitiesOutput, Fp32, [2, 3], new[] { 0.93f, 0.04f, 0.03f, 0.35f, 0.33f, 0.32f }),
            new OipResponseOutput(OutOfScopeOutput, Bool, [2], new[] { false, true }),
        ]);
    }
}
