using TextClassification.Inference.Predictions;
using TextClassification.Inference.Registry;
using TextClassification.Inference.Tests.Support;

namespace TextClassification.Inference.Tests.Predictions;

public sealed class PredictionServiceTests : IAsyncLifetime
{
    private ServingHost host = null!;

    public async Task InitializeAsync()
    {
        host = await ServingHost.StartAsync();
        await host.PublishAsync("intents", 1, TinyClassifier.Build());
        await host.PublishAsync("no-threshold", 1, TinyClassifier.Build(TinyClassifier.Metadata(threshold: null, outOfScopeLabel: null)));
        await host.PublishAsync("sentiment", 1, TinyClassifier.Build(TinyClassifier.Metadata(threshold: null, outOfScopeLabel: null) with { Labels = ["negative", "positive"] }));
        await host.PublishAsync("never-exported", 1, onnx: null);
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_loaded_model_predicts_each_text_with_probabilities_and_top_k_in_input_order()
    {
        var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), ["ALPHA", "beta", "alpha alpha beta"], topK: 2, CancellationToken.None);

        Assert.Equal("intents", result.Model);
        Assert.Equal(1, result.Version);
        Assert.Equal(TinyClassifier.Labels, result.Labels);
        Assert.Equal(["greeting", "weather", "greeting"], result.Predictions.Select(p => p.Label));
        foreach (var prediction in result.Predictions)
        {
            Assert.Equal(1f, prediction.Probabilities.Sum(), 5);
            Assert.Equal(2, prediction.TopK.Count);
            Assert.Equal(prediction.Label, prediction.TopK[0].Label);
            Assert.Equal(prediction.Score, prediction.TopK[0].Score);
            Assert.True(prediction.TopK[0].Score >= prediction.TopK[1].Score);
            Assert.False(prediction.OutOfScope);
        }

        // alpha: logits [4, 0, 0].
        float expected = MathF.Exp(4) / (MathF.Exp(4) + 2);
        Assert.Equal(expected, result.Predictions[0].Score, 5);
        Assert.Equal("weather", result.Predictions[2].TopK[1].Label);
    }

    [Fact]
    public async Task A_best_score_below_the_threshold_is_out_of_scope_with_no_label()
    {
        var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), ["alpha beta", "unknown words only"], topK: 3, CancellationToken.None);

        foreach (var prediction in result.Predictions)
        {
            Assert.Null(prediction.Label);
            Assert.True(prediction.OutOfScope);
            Assert.True(prediction.Score < 0.6f);
            Assert.Equal(3, prediction.TopK.Count);
        }

        // An even split: both candidate labels are still reported, in label order.
        Assert.Equal(["greeting", "weather", "out_of_scope"], result.Predictions[0].TopK.Select(s => s.Label));
    }

    [Fact]
    public async Task The_models_out_of_scope_label_is_never_predicted_as_a_label()
    {
        var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), ["gamma"], topK: 1, CancellationToken.None);

        var prediction = Assert.Single(result.Predictions);
        Assert.Null(prediction.Label);
        Assert.True(prediction.OutOfScope);
        Assert.True(prediction.Score > 0.9f);
        Assert.Equal("out_of_scope", prediction.TopK[0].Label);
    }

    [Fact]
    public async Task Without_a_threshold_or_out_of_scope_label_the_best_label_is_always_given()
    {
        var result = await host.Predictions.PredictAsync(new ModelSelector("no-threshold"), ["alpha beta", "gamma"], topK: 1, CancellationToken.None);

        Assert.Equal(["greeting", "out_of_scope"], result.Predictions.Select(p => p.Label));
        Assert.All(result.Predictions, p => Assert.False(p.OutOfScope));
    }

    public static TheoryData<string?[], int?, string> InvalidInputs => new()
    {
        { [], null, "inputs is empty" },
        { ["alpha", "beta", null], 2, "inputs[2] is null" },
        { ["alpha", ""], 1, "inputs[1] is empty" },
        { ["  \t", "alpha"], 0, "inputs[0] is empty" },
        { ["a", "b", "c", new string('x', 12034)], 3, "inputs[3] is 12034 characters long; the limit is 10000" },
    };

    [Theory]
    [MemberData(nameof(InvalidInputs))]
    public async Task Every_invalid_input_is_refused_naming_its_index(string?[] texts, int? index, string message)
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Predictions.PredictAsync(new ModelSelector("intents"), texts, 1, CancellationToken.None));

        Assert.Equal(index, error.Index);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task More_inputs_than_the_limit_are_refused()
    {
        var texts = Enumerable.Repeat<string?>("alpha", 257).ToArray();

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Predictions.PredictAsync(new ModelSelector("intents"), texts, 1, CancellationToken.None));

        Assert.Null(error.Index);
        Assert.Contains("257 texts; the limit is 256", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("intents", 3)]
    [InlineData("sentiment", 2)]
    public async Task Without_top_k_a_prediction_lists_three_labels_or_every_label_of_a_smaller_model(string model, int listed)
    {
        var result = await host.Predictions.PredictAsync(new ModelSelector(model), ["alpha", "beta gamma"], topK: null, CancellationToken.None);

        // Neither model has more than three labels, so each prediction ranks every one of them.
        Assert.All(result.Predictions, p => Assert.Equal(listed, p.TopK.Count));
        Assert.All(result.Predictions, p => Assert.Equal(result.Labels.Order(StringComparer.Ordinal), p.TopK.Select(s => s.Label).Order(StringComparer.Ordinal)));
    }

    [Fact]
    public async Task The_configured_default_top_k_applies_when_the_request_names_none()
    {
        await using var configured = await ServingHost.StartAsync(new Dictionary<string, string?> { ["DefaultTopK"] = "2" });
        await configured.PublishAsync("intents", 1, TinyClassifier.Build());

        var result = await configured.Predictions.PredictAsync(new ModelSelector("intents"), ["alpha"], topK: null, CancellationToken.None);

        Assert.Equal(["greeting", "weather"], result.Predictions[0].TopK.Select(s => s.Label));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task Top_k_outside_one_to_the_label_count_is_refused(int topK)
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => host.Predictions.PredictAsync(new ModelSelector("intents"), ["alpha"], topK, CancellationToken.None));

        Assert.Null(error.Index);
        Assert.Contains("top_k", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_model_or_version_is_not_found()
    {
        var unknownModel = await Assert.ThrowsAsync<ModelNotFoundException>(() => host.Predictions.PredictAsync(new ModelSelector("nobody"), ["alpha"], 1, CancellationToken.None));
        var unknownVersion = await Assert.ThrowsAsync<ModelNotFoundException>(() => host.Predictions.PredictAsync(new ModelSelector("intents", 9), ["alpha"], 1, CancellationToken.None));

        Assert.Equal("Model 'nobody' does not exist.", unknownModel.Message);
        Assert.Equal("Model 'intents' has no version 9.", unknownVersion.Message);
    }

    [Fact]
    public async Task A_version_never_exported_to_onnx_is_unavailable_and_says_so()
    {
        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => host.Predictions.PredictAsync(new ModelSelector("never-exported"), ["alpha"], 1, CancellationToken.None));

        Assert.Contains("never exported to ONNX", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Registry.Loaded, m => m.Name == "never-exported");
    }

    [Fact]
    public async Task Requests_and_their_outcomes_are_counted_with_the_effective_execution_provider()
    {
        await host.Predictions.PredictAsync(new ModelSelector("intents"), ["alpha"], 1, CancellationToken.None);
        await Assert.ThrowsAsync<InvalidInputException>(() => host.Predictions.PredictAsync(new ModelSelector("intents"), [""], 1, CancellationToken.None));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => host.Predictions.PredictAsync(new ModelSelector("nobody"), ["alpha"], 1, CancellationToken.None));
        host.Metrics.CountProtocolRequest("v2", ServingMetrics.Outcomes.Success);

        string metrics = await host.ScrapeMetricsAsync();

        Assert.Contains("inference_requests_total{model=\"intents\",version=\"1\",outcome=\"success\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("inference_requests_total{model=\"intents\",version=\"\",outcome=\"invalid_input\"} 1", metrics, StringComparison.Ordinal);
        // An unknown model is counted without the name the caller chose: names of models that do not exist are unbounded.
        Assert.Contains("inference_requests_total{model=\"\",version=\"\",outcome=\"model_not_found\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("nobody", metrics, StringComparison.Ordinal);
        Assert.Contains("inference_model_info{model=\"intents\",version=\"1\",execution_provider=\"CPU\",quantized=\"false\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("inference_protocol_requests_total{protocol=\"v2\",outcome=\"success\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("inference_queue_duration_seconds_count{model=\"intents\",version=\"1\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("inference_compute_duration_seconds_count{model=\"intents\",version=\"1\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("inference_loaded_models 1", metrics, StringComparison.Ordinal);
    }
}
