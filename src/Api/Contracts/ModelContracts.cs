using System.Text.Json;
using TextClassification.Persistence.Entities;

namespace TextClassification.Api.Contracts;

/// <summary>A registered model: its versions and aliases.</summary>
public sealed record ModelResponse(
    string Name,
    string Object,
    int LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    IReadOnlyList<ModelVersionSummary> Versions,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>One version in a model's list.</summary>
public sealed record ModelVersionSummary(int Version, string Architecture, int Labels, string JobId, bool Servable, DateTimeOffset CreatedAt);

/// <summary>The stored ONNX file of a version: what <c>/onnx</c> returns and how to check it.</summary>
/// <param name="Variant"><c>float32</c> or <c>int8</c>.</param>
/// <param name="Sha256">Hex SHA-256 of the file; checked every time the file is read.</param>
/// <param name="SizeBytes">The file's length.</param>
/// <param name="Opset">The standard ONNX operator set the graph uses.</param>
/// <param name="Served">Whether predictions use this file (the INT8 one when the version has it).</param>
public sealed record ModelArtifactResponse(string Variant, string Sha256, long SizeBytes, int Opset, bool Served);

/// <summary>A model version in full.</summary>
public sealed record ModelVersionResponse(
    string Object,
    string Model,
    int Version,
    string Architecture,
    IReadOnlyList<string> Labels,
    double? OutOfScopeThreshold,
    string JobId,
    IReadOnlyList<string> Aliases,
    string? Sha256,
    long? SizeBytes,
    int? Opset,
    IReadOnlyList<ModelArtifactResponse> Artifacts,
    JsonElement? Metrics,
    JsonElement? Parity,
    JsonElement? Quantization,
    DateTimeOffset CreatedAt,
    string? Teacher = null)
{
    public const string Float32 = "float32";
    public const string Int8 = "int8";

    /// <summary>The version as its page shows it.</summary>
    /// <param name="version">The stored version.</param>
    /// <param name="aliases">The aliases pointing at it.</param>
    /// <param name="withTrainingTexts">
    /// False for a caller that may predict but not read datasets (a predict key): the evaluation's <c>misclassified</c>
    /// rows are validation texts, which only train and admin keys may read anywhere else.
    /// </param>
    public static ModelVersionResponse From(ModelVersion version, IReadOnlyList<string> aliases, bool withTrainingTexts)
    {
        var artifacts = new List<ModelArtifactResponse>();
        if (version.OnnxSha256 is not null)
        {
            artifacts.Add(new ModelArtifactResponse(Float32, version.OnnxSha256, version.OnnxSizeBytes ?? 0, version.Opset ?? 0, version.QuantizedOnnxSha256 is null));
        }

        if (version.QuantizedOnnxSha256 is not null)
        {
            artifacts.Add(new ModelArtifactResponse(Int8, version.QuantizedOnnxSha256, version.QuantizedOnnxSizeBytes ?? 0, version.Opset ?? 0, true));
        }

        var served = artifacts.FirstOrDefault(a => a.Served);
        return new ModelVersionResponse(
            "model.version",
            version.ModelName,
            version.Version,
            version.Architecture,
            JsonSerializer.Deserialize<string[]>(version.LabelsJson) ?? [],
            version.OutOfScopeThreshold,
            version.JobId,
            aliases,
            served?.Sha256,
            served?.SizeBytes,
            version.Opset,
            artifacts,
            withTrainingTexts ? Parse(version.MetricsJson) : WithoutTexts(version.MetricsJson),
            Parse(version.ParityJson),
            Parse(version.QuantizationJson),
            version.CreatedAt,
            version.Teacher);
    }

    private static JsonElement? WithoutTexts(string? json)
    {
        if (string.IsNullOrEmpty(json) || json == "null")
        {
            return null;
        }

        var metrics = System.Text.Json.Nodes.JsonNode.Parse(json);
        if (metrics is System.Text.Json.Nodes.JsonObject evaluation)
        {
            evaluation.Remove("misclassified");
        }

        return JsonSerializer.SerializeToElement(metrics);
    }

    private static JsonElement? Parse(string? json) =>
        string.IsNullOrEmpty(json) || json == "null" ? null : JsonDocument.Parse(json).RootElement.Clone();
}

/// <summary>The body of <c>PUT /v1/models/{name}/aliases/{alias}</c>.</summary>
public sealed record SetAliasRequest(int? Version);

/// <summary>An alias and the version it points at.</summary>
public sealed record ModelAliasResponse(string Object, string Model, string Alias, int Version, DateTimeOffset UpdatedAt)
{
    public static ModelAliasResponse From(ModelAlias alias) => new("model.alias", alias.ModelName, alias.Alias, alias.Version, alias.UpdatedAt);
}
