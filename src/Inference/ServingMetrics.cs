using System.Collections.Concurrent;
using System.Globalization;
using Prometheus;

namespace TextClassification.Inference;

/// <summary>
/// The serving core's Prometheus metrics, in a registry of their own per container (not the process-wide default),
/// so several hosts in one process (tests) never share counters. The API exposes <see cref="Registry"/> on its
/// metrics endpoint.
/// </summary>
/// <remarks>
/// <see cref="Predictions.PredictionService"/> counts every prediction in <c>inference_requests_total</c> whatever
/// protocol carried it. The protocol adapters, which alone know the protocol, call
/// <see cref="CountProtocolRequest"/> once per HTTP/gRPC request; keeping that in its own counter keeps the data
/// plane protocol-neutral and its signature free of transport details.
/// </remarks>
public sealed class ServingMetrics
{
    /// <summary>Outcome label values of <c>inference_requests_total</c>.</summary>
    public static class Outcomes
    {
        public const string Success = "success";
        public const string InvalidInput = "invalid_input";
        public const string ModelNotFound = "model_not_found";
        public const string ModelUnavailable = "model_unavailable";
        public const string Cancelled = "cancelled";
        public const string Error = "error";

        /// <summary>Refused for want of a valid key or scope (counted by the protocol adapters only).</summary>
        public const string Unauthorized = "unauthorized";

        /// <summary>Refused by the caller's rate limit (counted by the protocol adapters only).</summary>
        public const string RateLimited = "rate_limited";
    }

    private readonly Counter requests;
    private readonly Counter protocolRequests;
    private readonly Histogram requestDuration;
    private readonly Histogram batchSize;
    private readonly Histogram queueDuration;
    private readonly Histogram computeDuration;
    private readonly Gauge loadedModels;
    private readonly Gauge modelInfo;
    private readonly Counter loads;
    private readonly ConcurrentDictionary<(string Protocol, string Outcome), Counter.Child> protocolSeries = new();

    /// <summary>
    /// The series one loaded model version writes on every request and batch, looked up once when it loads: a
    /// label lookup per request (hashing the label values) would be most of what the metrics cost on the predict path.
    /// </summary>
    internal sealed class ModelSeries
    {
        public ModelSeries(ServingMetrics metrics, string model, int version)
        {
            string v = Label(version);
            Succeeded = metrics.requests.WithLabels(model, v, Outcomes.Success);
            RequestDuration = metrics.requestDuration.WithLabels(model, v);
            BatchSize = metrics.batchSize.WithLabels(model, v);
            QueueDuration = metrics.queueDuration.WithLabels(model, v);
            ComputeDuration = metrics.computeDuration.WithLabels(model, v);
        }

        public Counter.Child Succeeded { get; }

        public Histogram.Child RequestDuration { get; }

        public Histogram.Child BatchSize { get; }

        public Histogram.Child QueueDuration { get; }

        public Histogram.Child ComputeDuration { get; }

        /// <summary>One ONNX Runtime run of <paramref name="texts"/> texts that started at <paramref name="startedTimestamp"/> (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
        public void ObserveRun(int texts, long startedTimestamp)
        {
            BatchSize.Observe(texts);
            ComputeDuration.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds);
        }
    }

    public ServingMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        string[] modelVersion = ["model", "version"];

        // 50 µs to ~6.5 s: a tiny model's batch takes tens of microseconds, a cold or overloaded request seconds.
        double[] seconds = Histogram.ExponentialBuckets(0.00005, 2, 18);

        requests = factory.CreateCounter(
            "inference_requests_total", "Prediction requests by model, version and outcome.",
            new CounterConfiguration { LabelNames = ["model", "version", "outcome"] });
        protocolRequests = factory.CreateCounter(
            "inference_protocol_requests_total", "Requests by the protocol that carried them (v1, v2) and outcome, counted by the API layer.",
            new CounterConfiguration { LabelNames = ["protocol", "outcome"] });
        requestDuration = factory.CreateHistogram(
            "inference_request_duration_seconds", "Time from a validated request to its result: resolution, queueing, compute and post-processing.",
            new HistogramConfiguration { LabelNames = modelVersion, Buckets = seconds });
        batchSize = factory.CreateHistogram(
            "inference_batch_size", "Texts per session run.",
            new HistogramConfiguration { LabelNames = modelVersion, Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        queueDuration = factory.CreateHistogram(
            "inference_queue_duration_seconds", "Time a request waited in the batcher's queue before its batch started.",
            new HistogramConfiguration { LabelNames = modelVersion, Buckets = seconds });
        computeDuration = factory.CreateHistogram(
            "inference_compute_duration_seconds", "Time one batch took to tokenize and run through its session.",
            new HistogramConfiguration { LabelNames = modelVersion, Buckets = seconds });
        loadedModels = factory.CreateGauge("inference_loaded_models", "Model versions loaded and ready.");
        modelInfo = factory.CreateGauge(
            "inference_model_info", "1 for each loaded model version, labelled with the execution provider its session uses.",
            new GaugeConfiguration { LabelNames = ["model", "version", "execution_provider", "quantized"] });
        loads = factory.CreateCounter(
            "inference_model_loads_total", "Model loads by outcome (loaded, failed).",
            new CounterConfiguration { LabelNames = ["model", "version", "outcome"] });
    }

    /// <summary>The registry holding this container's serving metrics.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Counts one request that came in over <paramref name="protocol"/> (<c>v1</c>, <c>v2</c>) with its outcome (see <see cref="Outcomes"/>).</summary>
    public void CountProtocolRequest(string protocol, string outcome)
    {
        ArgumentException.ThrowIfNullOrEmpty(protocol);
        ArgumentException.ThrowIfNullOrEmpty(outcome);
        protocolSeries.GetOrAdd((protocol, outcome), static (key, counter) => counter.WithLabels(key.Protocol, key.Outcome), protocolRequests).Inc();
    }

    /// <summary>The series of one model version; see <see cref="ModelSeries"/>.</summary>
    internal ModelSeries For(string model, int version) => new(this, model, version);

    /// <summary>
    /// Counts a request that did not succeed. One for a model that does not exist is counted without the name it
    /// asked for: callers choose those names, and each would be a new series without bound.
    /// </summary>
    internal void CountFailedRequest(string model, int? version, string outcome)
    {
        bool unknown = outcome == Outcomes.ModelNotFound;
        requests.WithLabels(unknown ? string.Empty : model, unknown ? string.Empty : Label(version), outcome).Inc();
    }

    internal void ModelLoaded(string model, int version, string executionProvider, bool quantized)
    {
        loads.WithLabels(model, Label(version), "loaded").Inc();
        modelInfo.WithLabels(model, Label(version), executionProvider, quantized ? "true" : "false").Set(1);
        loadedModels.Inc();
    }

    internal void ModelLoadFailed(string model, int version) => loads.WithLabels(model, Label(version), "failed").Inc();

    internal void ModelUnloaded(string model, int version, string executionProvider, bool quantized)
    {
        modelInfo.RemoveLabelled(model, Label(version), executionProvider, quantized ? "true" : "false");
        loadedModels.Dec();
    }

    private static string Label(int? version) => version?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
}
