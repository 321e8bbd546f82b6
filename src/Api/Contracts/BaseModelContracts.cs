using TextClassification.Training.BaseModels;

namespace TextClassification.Api.Contracts;

/// <summary>A pretrained encoder a fine-tuning job can start from (<c>base_model</c>).</summary>
/// <param name="Id">What a job names in <c>base_model</c>.</param>
/// <param name="Object">Always <c>base_model</c>.</param>
/// <param name="Architecture">The architecture a job from it trains (<c>bert</c>).</param>
/// <param name="HiddenSize">Width of the encoder's states.</param>
/// <param name="Layers">Encoder layers.</param>
/// <param name="Heads">Attention heads per layer.</param>
/// <param name="VocabSize">WordPiece vocabulary entries.</param>
/// <param name="MaxSequenceLength">The longest input in tokens (its position embeddings); jobs cut shorter, 64 by default.</param>
/// <param name="Parameters">Encoder parameters; a job adds a head of one row per label.</param>
/// <param name="Pooling">How the states become one vector per text: <c>mean</c> over the tokens, or <c>cls</c>.</param>
/// <param name="LowerCase">Whether its WordPiece tokenizer lower-cases text (an uncased vocabulary).</param>
/// <param name="Sha256">Of the weights file: model.onnx for a built-in encoder, model.safetensors for an uploaded one.</param>
/// <param name="License">The weights' licence.</param>
/// <param name="Source">Where the weights come from.</param>
/// <param name="BuiltIn">Whether it ships with the service; built-in encoders cannot be deleted.</param>
/// <param name="CreatedAt">When it was uploaded; null for a built-in one.</param>
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
    bool LowerCase,
    string Sha256,
    string License,
    string Source,
    bool BuiltIn,
    DateTimeOffset? CreatedAt)
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
        model.Tokenizer.CaseFold,
        model.Sha256,
        model.License,
        model.Source,
        model.BuiltIn,
        model.CreatedAt);
}
