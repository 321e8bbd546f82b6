using System.Diagnostics;
using TextClassification.Inference.Batching;
using TextClassification.Inference.Sessions;

namespace TextClassification.Inference.Registry;

/// <summary>A model version whose session is loaded, warmed up and ready to serve.</summary>
public sealed class LoadedModel
{
    private long lastUsed;

    internal LoadedModel(
        string name,
        int version,
        ClassifierSession session,
        DynamicBatcher? batcher,
        long artifactBytes,
        bool quantized,
        DateTimeOffset loadedAt,
        int maxBatchSize,
        ServingMetrics.ModelSeries series)
    {
        Name = name;
        Version = version;
        Session = session;
        Batcher = batcher;
        ArtifactBytes = artifactBytes;
        Quantized = quantized;
        LoadedAt = loadedAt;
        MaxBatchSize = maxBatchSize;
        Series = series;
        Touch();
    }

    public string Name { get; }

    public int Version { get; }

    /// <summary>What the ONNX file carries: labels in logit order, tokenizer, out-of-scope threshold and label.</summary>
    public ClassifierMetadata Metadata => Session.Metadata;

    /// <summary>The execution provider the session actually uses: <c>CPU</c> or <c>CUDA</c>.</summary>
    public string ExecutionProvider => Session.ExecutionProvider;

    /// <summary>Size of the ONNX file served.</summary>
    public long ArtifactBytes { get; }

    /// <summary>True when the dynamically quantized graph is the one served.</summary>
    public bool Quantized { get; }

    public DateTimeOffset LoadedAt { get; }

    /// <summary>
    /// What the registry counts against <see cref="InferenceOptions.MemoryBudgetMegabytes"/>: twice the artifact
    /// (ONNX Runtime copies the initializers out of the model bytes and, on the CPU, may keep a pre-packed copy of
    /// MatMul/Gemm weights beside them) plus 4 MiB for the session, its arenas and the token buffers of full batches.
    /// </summary>
    public long EstimatedMemoryBytes => EstimateMemory(ArtifactBytes);

    internal ClassifierSession Session { get; }

    /// <summary>This version's metric series, looked up once.</summary>
    internal ServingMetrics.ModelSeries Series { get; }

    internal DynamicBatcher? Batcher { get; }

    internal int MaxBatchSize { get; }

    internal long LastUsed => Volatile.Read(ref lastUsed);

    internal static long EstimateMemory(long artifactBytes) => (2 * artifactBytes) + (4L << 20);

    internal void Touch() => Volatile.Write(ref lastUsed, Stopwatch.GetTimestamp());

    /// <summary>
    /// Runs <paramref name="texts"/> through the batcher (or directly when batching is off) and returns their logits,
    /// row-major <c>[texts, labels]</c>.
    /// </summary>
    /// <exception cref="ModelEvictedException">The model was unloaded before the run could start.</exception>
    internal async Task<float[]> InferAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        if (!Session.TryAcquire())
        {
            throw new ModelEvictedException();
        }

        try
        {
            if (Batcher is not null)
            {
                return await Batcher.SubmitAsync(texts, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            return RunDirectly(texts);
        }
        finally
        {
            Session.Release();
        }
    }

    private float[] RunDirectly(IReadOnlyList<string> texts)
    {
        int labels = Session.LabelCount;
        float[]? logits = null;
        string[]? all = texts.Count > MaxBatchSize ? texts as string[] ?? [.. texts] : null;
        for (int start = 0; start < texts.Count; start += MaxBatchSize)
        {
            int count = Math.Min(MaxBatchSize, texts.Count - start);
            long started = Stopwatch.GetTimestamp();
            var result = Session.Run(all is null ? texts : new ArraySegment<string>(all, start, count));
            Series.ObserveRun(count, started);
            if (all is null)
            {
                // One run, the common case: its logits are the answer as they are.
                return result.Logits;
            }

            logits ??= new float[texts.Count * labels];
            result.Logits.CopyTo(logits.AsSpan(start * labels));
        }

        return logits!;
    }
}
