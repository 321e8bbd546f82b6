using TextClassification.Inference.Registry;
using TextClassification.Inference.Tests.Support;

namespace TextClassification.Inference.Tests.Predictions;

public sealed class BatchedAndUnbatchedTests
{
    private static readonly string[] Texts =
    [
        "alpha", "beta gamma", "delta delta epsilon zeta", "who knows", "zeta", "alpha beta gamma delta epsilon zeta alpha",
        "gamma", "Beta!", "epsilon alpha", "unknown alpha words",
    ];

    [Fact]
    public async Task The_same_texts_give_the_same_results_batched_unbatched_and_split_across_batches()
    {
        var results = new List<float[][]>();
        foreach (var settings in new[]
        {
            new Dictionary<string, string?> { ["BatchingEnabled"] = "true" },
            new Dictionary<string, string?> { ["BatchingEnabled"] = "false" },
            new Dictionary<string, string?> { ["BatchingEnabled"] = "true", ["MaxBatchSize"] = "3" },
            new Dictionary<string, string?> { ["BatchingEnabled"] = "false", ["MaxBatchSize"] = "3" },
        })
        {
            await using var host = await ServingHost.StartAsync(settings);
            await host.PublishAsync("intents", 1, TinyClassifier.Build());
            var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), Texts, 3, CancellationToken.None);
            Assert.Equal(Texts.Length, result.Predictions.Count);
            results.Add(result.Predictions.Select(p => p.Probabilities).ToArray());

            // Each text alone, too: one row per batch.
            for (int i = 0; i < Texts.Length; i++)
            {
                var single = await host.Predictions.PredictAsync(new ModelSelector("intents"), [Texts[i]], 3, CancellationToken.None);
                Assert.Equal(result.Predictions[i].Probabilities, single.Predictions[0].Probabilities);
            }
        }

        for (int run = 1; run < results.Count; run++)
        {
            for (int i = 0; i < Texts.Length; i++)
            {
                Assert.Equal(results[0][i], results[run][i]);
            }
        }
    }
}
