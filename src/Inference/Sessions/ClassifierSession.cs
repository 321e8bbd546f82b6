using System.Collections.Concurrent;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Inference.Sessions;

/// <summary>The logits of one run, row-major <c>[Rows, Labels]</c>, and how wide the padded batch was.</summary>
internal readonly record struct BatchLogits(float[] Logits, int Rows, int SequenceLength);

/// <summary>
/// One exported classifier ready to run: its ONNX Runtime session, created once from the artifact's bytes, and the
/// tokenizer and labels its metadata carries. Runs may happen concurrently (ONNX Runtime allows concurrent
/// <c>Run</c> calls on one session). The session is disposed only after the last lease is released, so eviction
/// never pulls it from under a run in flight.
/// </summary>
internal sealed class ClassifierSession
{
    private static readonly string[] InputNames = [ClassifierMetadata.InputIdsName, ClassifierMetadata.AttentionMaskName];
    private static readonly string[] OutputNames = [ClassifierMetadata.LogitsName];

    private readonly InferenceSession session;

    // Run options carry only defaults here, and ONNX Runtime reads them without changing them during a run, so one
    // instance serves every run instead of a native allocation per batch.
    private readonly RunOptions runOptions = new();

    // Token buffers reused across runs; at most one per run in flight is ever created.
    private readonly ConcurrentBag<TokenizedBatch> buffers = [];

    // The owner's reference plus one per lease. At zero the session is disposed and no lease can be taken again.
    private int references = 1;

    private ClassifierSession(InferenceSession session, ClassifierMetadata metadata, string executionProvider)
    {
        this.session = session;
        Metadata = metadata;
        Tokenizer = new TextTokenizer(metadata.Tokenizer);
        ExecutionProvider = executionProvider;
    }

    public ClassifierMetadata Metadata { get; }

    public TextTokenizer Tokenizer { get; }

    /// <summary>The provider the session was created with: <c>CPU</c> or <c>CUDA</c>.</summary>
    public string ExecutionProvider { get; }

    public int LabelCount => Metadata.Labels.Count;

    public bool IsDisposed => Volatile.Read(ref references) == 0;

    /// <summary>
    /// Creates the session from a serialized model and checks that it is a classifier this service can serve: the
    /// metadata is readable and the inputs and output have the agreed names, types and ranks.
    /// </summary>
    /// <exception cref="InvalidDataException">The model is not a classifier exported by this service.</exception>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime could not load the graph.</exception>
    public static ClassifierSession Create(byte[] model, SessionOptions options, string executionProvider)
    {
        var session = new InferenceSession(model, options);
        try
        {
            var metadata = ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap);
            RequireTensor(session.InputMetadata, ClassifierMetadata.InputIdsName, typeof(long), "input");
            RequireTensor(session.InputMetadata, ClassifierMetadata.AttentionMaskName, typeof(long), "input");
            RequireTensor(session.OutputMetadata, ClassifierMetadata.LogitsName, typeof(float), "output");
            if (session.InputMetadata.Count != 2)
            {
                throw new InvalidDataException($"The graph takes {session.InputMetadata.Count} inputs; a classifier takes exactly '{ClassifierMetadata.InputIdsName}' and '{ClassifierMetadata.AttentionMaskName}'.");
            }

            return new ClassifierSession(session, metadata, executionProvider);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Takes a reference that keeps the session alive until released; false once it is being disposed.</summary>
    public bool TryAcquire()
    {
        int current = Volatile.Read(ref references);
        while (current > 0)
        {
            int seen = Interlocked.CompareExchange(ref references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Gives back a reference (a lease, or the owner's); the last one disposes the session.</summary>
    public void Release()
    {
        int remaining = Interlocked.Decrement(ref references);
        if (remaining == 0)
        {
            session.Dispose();
            runOptions.Dispose();
        }
        else if (remaining < 0)
        {
            throw new InvalidOperationException("A classifier session was released more times than it was acquired.");
        }
    }

    /// <summary>
    /// Tokenizes <paramref name="texts"/> into one batch padded to its longest row and runs it. The caller holds a
    /// lease (or the owner's reference) for the duration of the call.
    /// </summary>
    public BatchLogits Run(IReadOnlyList<string> texts)
    {
        ArgumentOutOfRangeException.ThrowIfZero(texts.Count);
        if (!buffers.TryTake(out var batch))
        {
            batch = new TokenizedBatch();
        }

        try
        {
            Tokenizer.EncodeBatch(texts, batch);
            long[] shape = [batch.Count, batch.SequenceLength];
            var logits = new float[batch.Count * LabelCount];

            // Every OrtValue wraps managed memory that stays pinned until it is disposed, which happens before the
            // token buffer goes back to the pool and before the logits are handed out.
            using var ids = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.InputIds, shape);
            using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.AttentionMask, shape);
            using var output = OrtValue.CreateTensorValueFromMemory(logits, [batch.Count, LabelCount]);
            session.Run(runOptions, InputNames, [ids, mask], OutputNames, [output]);
            return new BatchLogits(logits, batch.Count, batch.SequenceLength);
        }
        finally
        {
            buffers.Add(batch);
        }
    }

    /// <summary>
    /// Runs a batch of one and a full batch of the longest sequence the tokenizer produces, so that the first real
    /// request pays for neither lazy initialization nor the allocation of the largest buffers.
    /// </summary>
    public void WarmUp(int maxBatchSize)
    {
        Run(["warm up"]);
        string longest = string.Join(' ', Enumerable.Repeat("warm-up", Tokenizer.MaxSequenceLength));
        Run(Enumerable.Repeat(longest, maxBatchSize).ToArray());
    }

    private static void RequireTensor(IReadOnlyDictionary<string, NodeMetadata> nodes, string name, Type elementType, string kind)
    {
        if (!nodes.TryGetValue(name, out var node))
        {
            throw new InvalidDataException($"The graph has no {kind} named '{name}'; it was not exported by this service.");
        }

        if (!node.IsTensor || node.ElementType != elementType || node.Dimensions.Length != 2)
        {
            throw new InvalidDataException($"The graph's {kind} '{name}' is not a rank-2 {elementType.Name} tensor.");
        }
    }
}
