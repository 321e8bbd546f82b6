using System.Text.Json;
using System.Text.Json.Serialization;

namespace TextClassification.Training.Loop;

/// <summary>
/// The JSON shape of training records (hyperparameters, metrics, evaluation reports, checkpoint manifests):
/// snake_case names, enums as snake_case strings. Use it wherever those records are stored or shown.
/// </summary>
public static class TrainingJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
