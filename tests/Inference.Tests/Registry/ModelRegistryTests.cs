using TextClassification.Inference.Registry;
using TextClassification.Inference.Tests.Support;

namespace TextClassification.Inference.Tests.Registry;

public sealed class ModelRegistryTests
{
    // Version n's bias favours label n - 1, so a prediction of "unknown" tells which version answered.
    private static byte[] Version(int version)
    {
        var bias = new float[3];
        bias[(version - 1) % 3] = 10;
        return TinyClassifier.Build(TinyClassifier.Metadata(threshold: null, outOfScopeLabel: null), bias);
    }

    [Fact]
    public async Task Concurrent_callers_share_one_load_and_get_one_warmed_model()
    {
        await using var host = await ServingHost.StartAsync();
        await host.PublishAsync("intents", 1, Version(1));

        var models = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => host.Registry.GetAsync(new ModelSelector("intents", 1), CancellationToken.None))));

        Assert.All(models, m => Assert.Same(models[0], m));
        Assert.Equal("CPU", models[0].ExecutionProvider);
        Assert.False(models[0].Quantized);
        Assert.Equal(TinyClassifier.Labels, models[0].Metadata.Labels);
        Assert.Contains("inference_model_loads_total{model=\"intents\",version=\"1\",outcome=\"loaded\"} 1", await host.ScrapeMetricsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_version_the_production_alias_wins_over_the_latest_version()
    {
        await using var host = await ServingHost.StartAsync();
        foreach (int v in new[] { 1, 2, 3 })
        {
            await host.PublishAsync("aliased", v, Version(v));
            await host.PublishAsync("plain", v, Version(v));
        }

        await host.SetAliasAsync("aliased", "production", 2);
        await host.SetAliasAsync("plain", "staging", 1);

        Assert.Equal(2, (await host.Registry.GetAsync(new ModelSelector("aliased"), CancellationToken.None)).Version);
        Assert.Equal(3, (await host.Registry.GetAsync(new ModelSelector("plain"), CancellationToken.None)).Version);
        Assert.Equal(1, (await host.Registry.GetAsync(new ModelSelector("aliased", 1), CancellationToken.None)).Version);
        var result = await host.Predictions.PredictAsync(new ModelSelector("aliased"), ["unknown"], 1, CancellationToken.None);
        Assert.Equal((2, "weather"), (result.Version, result.Predictions[0].Label));
    }

    [Fact]
    public async Task A_moved_alias_is_cached_until_AliasesChanged_announces_the_move()
    {
        // A resolution cached for ten minutes: only AliasesChanged can make the move visible within this test.
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["ResolutionCacheMilliseconds"] = "600000" });
        await host.PublishAsync("intents", 1, Version(1));
        await host.PublishAsync("intents", 2, Version(2));
        await host.SetAliasAsync("intents", "production", 1);
        Assert.Equal(1, (await host.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None)).Version);

        await host.Registry.LoadAsync("intents", 2, CancellationToken.None);
        await host.SetAliasAsync("intents", "production", 2);
        Assert.Equal(1, (await host.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None)).Version);

        host.Registry.AliasesChanged("intents");
        var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), ["unknown"], 1, CancellationToken.None);

        Assert.Equal((2, "weather"), (result.Version, result.Predictions[0].Label));
    }

    [Fact]
    public async Task Without_a_cache_interval_a_move_by_another_process_is_seen_on_the_next_request()
    {
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["ResolutionCacheMilliseconds"] = "0" });
        await host.PublishAsync("intents", 1, Version(1));
        await host.PublishAsync("intents", 2, Version(2));
        await host.SetAliasAsync("intents", "production", 1);
        Assert.Equal(1, (await host.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None)).Version);

        await host.SetAliasAsync("intents", "production", 2);

        Assert.Equal(2, (await host.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None)).Version);
    }

    [Fact]
    public async Task A_corrupted_artifact_is_unavailable_and_never_served()
    {
        await using var host = await ServingHost.StartAsync();
        var row = await host.PublishAsync("intents", 1, Version(1));
        string path = host.ArtifactPath(row.OnnxArtifactKey!);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(path, bytes);

        for (int attempt = 0; attempt < 2; attempt++)
        {
            var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => host.Predictions.PredictAsync(new ModelSelector("intents"), ["alpha"], 1, CancellationToken.None));
            Assert.Contains("Model intents:1 cannot be served: its ONNX artifact is corrupted (it fails its SHA-256 or authentication check)", error.Message, StringComparison.Ordinal);
            Assert.Equal(("intents", 1), (error.Model, error.Version));
        }

        Assert.Empty(host.Registry.Loaded);
        Assert.Contains("inference_requests_total{model=\"intents\",version=\"1\",outcome=\"model_unavailable\"} 2", await host.ScrapeMetricsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_artifact_is_unavailable_and_says_so()
    {
        await using var host = await ServingHost.StartAsync();
        var row = await host.PublishAsync("intents", 1, Version(1));
        File.Delete(host.ArtifactPath(row.OnnxArtifactKey!));

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => host.Registry.GetAsync(new ModelSelector("intents", 1), CancellationToken.None));

        Assert.Contains("is missing from the artifact store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_load_is_retried_by_a_later_request()
    {
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["ResolutionCacheMilliseconds"] = "0" });
        var row = await host.PublishAsync("intents", 1, Version(1));
        string path = host.ArtifactPath(row.OnnxArtifactKey!);
        var good = await File.ReadAllBytesAsync(path);
        File.Move(path, path + ".aside");
        await Assert.ThrowsAsync<ModelUnavailableException>(() => host.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None));

        File.Move(path + ".aside", path);
        var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), ["alpha"], 1, CancellationToken.None);

        Assert.Equal("greeting", result.Predictions[0].Label);
        Assert.Equal(good.Length, host.Registry.Loaded.Single().ArtifactBytes);
    }

    [Fact]
    public async Task A_graph_that_is_not_a_classifier_is_unavailable_with_the_load_error()
    {
        await using var host = await ServingHost.StartAsync();
        await host.PublishAsync("intents", 1, [1, 2, 3, 4]);

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => host.Registry.GetAsync(new ModelSelector("intents", 1), CancellationToken.None));

        Assert.Contains("its ONNX session failed to load", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_quantized_graph_is_served_when_the_version_has_one()
    {
        await using var host = await ServingHost.StartAsync();
        var quantized = TinyClassifier.Build(TinyClassifier.Metadata(threshold: null, outOfScopeLabel: null, quantization: "dynamic_int8"), [0, 0, 10]);
        await host.PublishAsync("intents", 1, Version(1), quantized);

        var model = await host.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None);
        var result = await host.Predictions.PredictAsync(new ModelSelector("intents"), ["unknown"], 1, CancellationToken.None);

        Assert.True(model.Quantized);
        Assert.Equal(quantized.Length, model.ArtifactBytes);
        Assert.Equal("dynamic_int8", model.Metadata.Quantization);
        Assert.Equal("out_of_scope", result.Predictions[0].Label);
    }

    [Fact]
    public async Task Under_a_tight_budget_the_least_recently_used_version_is_evicted()
    {
        // Each tiny model is estimated at a little over 4 MiB: two fit in 10 MiB, three do not.
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["MemoryBudgetMegabytes"] = "10" });
        foreach (string name in new[] { "a", "b", "c" })
        {
            await host.PublishAsync(name, 1, Version(1));
        }

        await host.Registry.GetAsync(new ModelSelector("a"), CancellationToken.None);
        await host.Registry.GetAsync(new ModelSelector("b"), CancellationToken.None);
        await host.Registry.GetAsync(new ModelSelector("a"), CancellationToken.None);
        await host.Registry.GetAsync(new ModelSelector("c"), CancellationToken.None);

        Assert.Equal(["a", "c"], host.Registry.Loaded.Select(m => m.Name));

        // An evicted version loads again on demand (evicting the next least recently used).
        var result = await host.Predictions.PredictAsync(new ModelSelector("b"), ["alpha"], 1, CancellationToken.None);
        Assert.Equal("greeting", result.Predictions[0].Label);
        Assert.Equal(["b", "c"], host.Registry.Loaded.Select(m => m.Name));
    }

    [Fact]
    public async Task A_budget_smaller_than_one_model_still_serves_the_latest_loaded()
    {
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["MemoryBudgetMegabytes"] = "1" });
        await host.PublishAsync("a", 1, Version(1));
        await host.PublishAsync("b", 1, Version(1));

        await host.Predictions.PredictAsync(new ModelSelector("a"), ["alpha"], 1, CancellationToken.None);
        await host.Predictions.PredictAsync(new ModelSelector("b"), ["alpha"], 1, CancellationToken.None);

        Assert.Equal("b", Assert.Single(host.Registry.Loaded).Name);
    }

    [Fact]
    public async Task An_evicted_session_outlives_the_run_holding_it()
    {
        // Without batching, retiring a version releases its session synchronously, and a load evicts before it hands
        // the new version to its callers, so the test can look at once.
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["MemoryBudgetMegabytes"] = "1", ["BatchingEnabled"] = "false" });
        await host.PublishAsync("a", 1, Version(1));
        await host.PublishAsync("b", 1, Version(1));
        var a = await host.Registry.GetAsync(new ModelSelector("a"), CancellationToken.None);
        Assert.True(a.Session.TryAcquire()); // as a run in flight does

        await host.Registry.GetAsync(new ModelSelector("b"), CancellationToken.None);

        Assert.DoesNotContain(a, host.Registry.Loaded);
        Assert.False(a.Session.IsDisposed);
        Assert.Equal(1, a.Session.Run(["alpha"]).Rows);
        a.Session.Release();
        Assert.True(a.Session.IsDisposed);
    }

    [Fact]
    public async Task Unload_stops_serving_a_version_and_disposes_its_session()
    {
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["BatchingEnabled"] = "false" });
        await host.PublishAsync("intents", 1, Version(1));
        var model = await host.Registry.GetAsync(new ModelSelector("intents", 1), CancellationToken.None);

        host.Registry.Unload("intents", 1);

        Assert.Empty(host.Registry.Loaded);
        Assert.True(model.Session.IsDisposed);
        Assert.Contains("inference_loaded_models 0", await host.ScrapeMetricsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preloading_on_start_loads_each_models_default_version()
    {
        await using var host = await ServingHost.StartAsync(
            new Dictionary<string, string?> { ["PreloadOnStart"] = "true" },
            async h =>
            {
                await h.PublishAsync("intents", 1, Version(1));
                await h.PublishAsync("intents", 2, Version(2));
                await h.PublishAsync("broken", 1, onnx: null);
            });

        var loaded = Assert.Single(host.Registry.Loaded);
        Assert.Equal(("intents", 2), (loaded.Name, loaded.Version));
    }

    [Fact]
    public async Task Auto_reports_the_provider_it_got_and_cuda_alone_fails_the_load_where_auto_fell_back()
    {
        string effective;
        await using (var auto = await ServingHost.StartAsync(new Dictionary<string, string?> { ["ExecutionProvider"] = "Auto" }))
        {
            await auto.PublishAsync("intents", 1, Version(1));
            effective = (await auto.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None)).ExecutionProvider;
            Assert.Contains($"execution_provider=\"{effective}\"", await auto.ScrapeMetricsAsync(), StringComparison.Ordinal);
        }

        await using var cuda = await ServingHost.StartAsync(new Dictionary<string, string?> { ["ExecutionProvider"] = "Cuda" });
        await cuda.PublishAsync("intents", 1, Version(1));
        if (effective == "CPU")
        {
            // A CPU build (or no GPU): Auto fell back on purpose; asking for CUDA alone is an error, not a silent fallback.
            var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => cuda.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None));
            Assert.Contains("CUDA execution provider could not be used", error.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("CUDA", effective);
            Assert.Equal("CUDA", (await cuda.Registry.GetAsync(new ModelSelector("intents"), CancellationToken.None)).ExecutionProvider);
        }
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_from_starting()
    {
        await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => ServingHost.StartAsync(new Dictionary<string, string?> { ["MaxBatchSize"] = "0" }));
    }
}
