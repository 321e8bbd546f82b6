using TextClassification.Inference.Predictions;

namespace TextClassification.Api.Contracts;

/// <summary>The body of <c>POST /v1/models/{name}/predict</c>.</summary>
/// <param name="Inputs">The texts to classify, at least one.</param>
/// <param name="TopK">
/// How many of the best labels to list per text, from 1 to the model's label count. Left out: the smaller of
/// <c>Inference:DefaultTopK</c> (3 by default) and the model's label count.
/// </param>
public sealed record PredictRequest(IReadOnlyList<string?>? Inputs, int? TopK);

/// <summary>What a model said about each input, in input order.</summary>
public sealed record PredictResponse(string Model, int Version, IReadOnlyList<PredictionResponse> Predictions)
{
    public static PredictResponse From(PredictionResult result) => new(
        result.Model,
        result.Version,
        result.Predictions.Select(p => new PredictionResponse(
            p.Label, p.Score, p.OutOfScope, p.TopK.Select(s => new LabelScoreResponse(s.Label, s.Score)).ToList())).ToList());
}

/// <summary>
/// One text's prediction. <see cref="Label"/> is null and <see cref="OutOfScope"/> true when the best score is below
/// the model's out-of-scope threshold: the model does not know.
/// </summary>
public sealed record PredictionResponse(string? Label, float Score, bool OutOfScope, IReadOnlyList<LabelScoreResponse> TopK);

public sealed record LabelScoreResponse(string Label, float Score);
