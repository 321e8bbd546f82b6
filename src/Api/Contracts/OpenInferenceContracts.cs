using System.Text.Json;
using System.Text.Json.Serialization;

namespace TextClassification.Api.Contracts;

// The Open Inference Protocol (KServe v2) REST shapes. Field names are the protocol's, which happen to be snake_case
// like the rest of the API; nothing here may be renamed without breaking KServe and Triton clients.

/// <summary><c>GET /v2</c>.</summary>
public sealed record OipServerMetadata(string Name, string Version, IReadOnlyList<string> Extensions);

/// <summary><c>GET /v2/health/live</c>.</summary>
public sealed record OipLiveResponse(bool Live);

/// <summary><c>GET /v2/health/ready</c>.</summary>
public sealed record OipReadyResponse(bool Ready);

/// <summary><c>GET /v2/models/{name}[/versions/{version}]/ready</c>.</summary>
public sealed record OipModelReadyResponse(string Name, string Version, bool Ready);

/// <summary>A tensor's name, element type and shape (-1 for a dynamic dimension).</summary>
public sealed record OipTensorMetadata(string Name, string Datatype, IReadOnlyList<long> Shape);

/// <summary><c>GET /v2/models/{name}[/versions/{version}]</c>.</summary>
public sealed record OipModelMetadata(
    string Name,
    IReadOnlyList<string> Versions,
    string Platform,
    IReadOnlyList<OipTensorMetadata> Inputs,
    IReadOnlyList<OipTensorMetadata> Outputs,
    IReadOnlyDictionary<string, object?> Parameters);

/// <summary>One input tensor of an inference request; <see cref="Data"/> is read by hand so bad elements can be named.</summary>
public sealed record OipRequestInput(string? Name, IReadOnlyList<long>? Shape, string? Datatype, JsonElement Data);

/// <summary>An output the caller asks for; without any, every output is returned.</summary>
public sealed record OipRequestOutput(string? Name);

/// <summary><c>POST /v2/models/{name}[/versions/{version}]/infer</c>.</summary>
public sealed record OipInferenceRequest(string? Id, IReadOnlyList<OipRequestInput>? Inputs, IReadOnlyList<OipRequestOutput>? Outputs);

/// <summary>One output tensor, its data flattened in row-major order.</summary>
public sealed record OipResponseOutput(string Name, string Datatype, IReadOnlyList<long> Shape, object Data);

public sealed record OipInferenceResponse(
    string ModelName,
    string ModelVersion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    IReadOnlyList<OipResponseOutput> Outputs);

/// <summary>The protocol's error body: <c>{"error": "..."}</c>.</summary>
public sealed record OipError(string Error);
