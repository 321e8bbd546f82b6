using TextClassification.Inference.Tokenization;
using TextClassification.Training.Models;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// A pretrained encoder a job starts from: its shape, the WordPiece tokenizer it was trained with, and its weights.
/// The run adds a fresh head for its labels.
/// </summary>
/// <param name="Id">The base model's id (<c>minilm-l6</c>, or an uploaded one's).</param>
/// <param name="Config">The encoder's shape; the run fills in the label count and dropout.</param>
/// <param name="Tokenizer">The encoder's tokenizer; the run sets the maximum sequence length.</param>
/// <param name="Weights">Every encoder tensor, by this project's names.</param>
public sealed record PretrainedEncoder(string Id, BertConfig Config, TokenizerDefinition Tokenizer, EncoderWeights Weights);
