using System.Diagnostics;
using Microsoft.Extensions.Options;
using TextClassification.Inference.Batching;
using TextClassification.Inference.Registry;
using TextClassification.Inference.Sessions;

namespace TextClassification.Inference.Predictions;

/// <summary>
/// The protocol-neutral data plane: validates a request, resolves its model, runs its texts through the model's
/// batcher, and turns logits into probabilities, a label or out-of-scope, and the top k. Every prediction is counted
/// in <see cref="ServingMetrics"/> by model, version and outcome.
/// </summary>
public sealed class PredictionService(ModelRegistry registry, ServingMetrics metrics, IOptions<InferenceOptions> options)
{
    // An eviction can race a request between resolving the model and queueing on it; resolving again then loads it anew.
    private const int Attempts = 3;

    private readonly InferenceOptions settings = options.Value;

    /// <summary>Predicts a label for each of <paramref name="texts"/>.</summary>
    /// <param name="selector">The model, and the version when one is named.</param>
    /// <param name="texts">The texts to classify.</param>
    /// <param name="topK">
    /// How many of the best labels to list per text, from 1 to the model's label count; null for the default, the
    /// smaller of <see cref="InferenceOptions.DefaultTopK"/> and the model's label count.
    /// </param>
    /// <param name="cancellationToken">Cancels waiting for the model and the run.</param>
    /// <exception cref="InvalidInputException">The texts or <paramref name="topK"/> are not acceptable; the index names the text.</exception>
    /// <exception cref="ModelNotFoundException">The model or version does not exist.</exception>
    /// <exception cref="ModelUnavailableException">The version exists but cannot be served.</exception>
    public async Task<PredictionResult> PredictAsync(ModelSelector selector, IReadOnlyList<string?> texts, int? topK, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(selector);
        long started = Stopwatch.GetTimestamp();
        int? version = selector.Version;
        try
        {
            var valid = Validate(texts);
            for (int attempt = 1; ; attempt++)
            {
                var model = await registry.GetAsync(selector, cancellationToken);
                version = model.Version;
                var labels = model.Metadata.Labels;

                // The default depends on the model: it must hold for a model of two labels as for one of thousands.
                int k = topK ?? Math.Min(settings.DefaultTopK, labels.Count);
                if (k < 1 || k > labels.Count)
                {
                    throw new InvalidInputException($"top_k is {k}; it must be between 1 and the model's {labels.Count} labels.");
                }

                float[] logits;
                try
                {
                    logits = await model.InferAsync(valid, cancellationToken);
                }
                catch (ModelEvictedException) when (attempt < Attempts)
                {
                    continue;
                }
                catch (ModelEvictedException e)
                {
                    throw new ModelUnavailableException(model.Name, model.Version, $"Model {model.Name}:{model.Version} was unloaded while the request waited for it.", e);
                }

                var result = new PredictionResult(model.Name, model.Version, labels, Postprocess(logits, valid.Length, model.Metadata, k));
                model.Series.Succeeded.Inc();
                model.Series.RequestDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                return result;
            }
        }
        catch (Exception e)
        {
            version ??= (e as ModelUnavailableException)?.Version;
            metrics.CountFailedRequest(selector.Name ?? string.Empty, version, e switch
            {
                InvalidInputException => ServingMetrics.Outcomes.InvalidInput,
                ModelNotFoundException => ServingMetrics.Outcomes.ModelNotFound,
                ModelUnavailableException => ServingMetrics.Outcomes.ModelUnavailable,
                OperationCanceledException => ServingMetrics.Outcomes.Cancelled,
                _ => ServingMetrics.Outcomes.Error,
            });
            throw;
        }
    }

    private string[] Validate(IReadOnlyList<string?>? texts)
    {
        if (texts is null || texts.Count == 0)
        {
            throw new InvalidInputException("inputs is empty; send at least one text.");
        }

        if (texts.Count > settings.MaxInputsPerRequest)
        {
            throw new InvalidInputException($"inputs holds {texts.Count} texts; the limit is {settings.MaxInputsPerRequest} per request.");
        }

        var valid = new string[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            string? text = texts[i];
            if (text is null)
            {
                throw new InvalidInputException($"inputs[{i}] is null; every input must be a text.", i);
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                throw new InvalidInputException($"inputs[{i}] is empty; every input must contain some text.", i);
            }

            if (text.Length > settings.MaxTextLength)
            {
                throw new InvalidInputException($"inputs[{i}] is {text.Length} characters long; the limit is {settings.MaxTextLength}.", i);
            }

            valid[i] = text;
        }

        return valid;
    }

    private static TextPrediction[] Postprocess(float[] logits, int rows, ClassifierMetadata metadata, int topK)
    {
        var labels = metadata.Labels;
        int count = labels.Count;
        var predictions = new TextPrediction[rows];
        for (int row = 0; row < rows; row++)
        {
            var probabilities = new float[count];
            Probabilities.Softmax(logits.AsSpan(row * count, count), probabilities);
            int[] order = TopIndices(probabilities, topK);
            var ranked = new LabelScore[order.Length];
            for (int i = 0; i < order.Length; i++)
            {
                ranked[i] = new LabelScore(labels[order[i]], probabilities[order[i]]);
            }

            int best = order[0];
            float score = probabilities[best];
            bool outOfScope = (metadata.OutOfScopeThreshold is { } threshold && score < threshold)
                || string.Equals(labels[best], metadata.OutOfScopeLabel, StringComparison.Ordinal);
            predictions[row] = new TextPrediction(outOfScope ? null : labels[best], score, outOfScope, ranked, probabilities);
        }

        return predictions;
    }

    /// <summary>
    /// The indices of the <paramref name="k"/> highest probabilities, best first, ties to the lower index: an insertion
    /// into a list of k per label, rather than sorting every label of every text on the predict path.
    /// </summary>
    private static int[] TopIndices(float[] probabilities, int k)
    {
        var top = new int[k];
        int filled = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            float p = probabilities[i];
            if (filled == k && p <= probabilities[top[k - 1]])
            {
                continue;
            }

            int position = filled < k ? filled++ : k - 1;
            while (position > 0 && probabilities[top[position - 1]] < p)
            {
                top[position] = top[position - 1];
                position--;
            }

            top[position] = i;
        }

        return top;
    }
}
