namespace TextClassification.Inference.Predictions;

/// <summary>Logits to probabilities, the one way serving and the export step's measurements both do it.</summary>
public static class Probabilities
{
    /// <summary>
    /// Writes the softmax of <paramref name="logits"/> into <paramref name="probabilities"/> (same length), shifted by
    /// the largest logit so that no exponent overflows and summed in double precision.
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        if (probabilities.Length != logits.Length)
        {
            throw new ArgumentException("The output must be as long as the logits.", nameof(probabilities));
        }

        float max = float.NegativeInfinity;
        foreach (float logit in logits)
        {
            max = Math.Max(max, logit);
        }

        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double e = Math.Exp(logits[i] - max);
            probabilities[i] = (float)e;
            sum += e;
        }

        for (int i = 0; i < probabilities.Length; i++)
        {
            probabilities[i] = (float)(probabilities[i] / sum);
        }
    }
}
