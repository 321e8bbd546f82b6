namespace TextClassification.Inference.Predictions;

/// <summary>The predictions for one request, in the order of its inputs.</summary>
/// <param name="Model">The model name.</param>
/// <param name="Version">The version that served the request (what the alias or "latest" resolved to).</param>
/// <param name="Labels">The model's labels, in the order of <see cref="TextPrediction.Probabilities"/>.</param>
/// <param name="Predictions">One per input text, in input order.</param>
public sealed record PredictionResult(string Model, int Version, IReadOnlyList<string> Labels, IReadOnlyList<TextPrediction> Predictions);

/// <summary>The prediction for one text.</summary>
/// <param name="Label">The best label; null when the text is out of scope.</param>
/// <param name="Score">The best label's probability.</param>
/// <param name="OutOfScope">
/// True when the best probability is below the model's out-of-scope threshold, or the best label is the label that
/// stood for out-of-scope rows in training.
/// </param>
/// <param name="TopK">The k most probable labels, most probable first (ties in label order).</param>
/// <param name="Probabilities">The softmax over every label, in the order of <see cref="PredictionResult.Labels"/>.</param>
public sealed record TextPrediction(string? Label, float Score, bool OutOfScope, IReadOnlyList<LabelScore> TopK, float[] Probabilities);

/// <summary>A label and its probability.</summary>
public sealed record LabelScore(string Label, float Score);
