using TextClassification.Training.BaseModels;

namespace TextClassification.Api.Contracts;

/// <summary>A pretrained encoder a fine-tuning job can start from (<c>base_model</c>).</summary>
public sealed record BaseModelResponse(
    string Id,
    string Object,
    string Architecture,
    int HiddenSize,
    int Layers,
    int Heads,
    int VocabSize,
    int MaxSequenceLength,
    long Parameters,
    string Pooling,
    string Sha256,
    string License,
    string Source,
    bool BuiltIn)
{
    public static BaseModelResponse From(BaseModelDescription model) => new(
        model.Id,
        "base_model",
        model.Architecture,
        model.Config.HiddenSize,
        model.Config.Layers,
        model.Config.Heads,
        model.Config.VocabularySize,
        model.Config.MaxPositions,
        model.Parameters,
        model.Config.Pooling.ToString().ToLowerInvariant(),
        model.Sha256,
        model.License,
        model.Source,
        model.BuiltIn);
}
