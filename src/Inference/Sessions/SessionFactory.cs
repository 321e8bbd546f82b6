using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace TextClassification.Inference.Sessions;

/// <summary>
/// Creates classifier sessions with the configured execution provider and thread settings, and decides how many
/// runs of one model may be in flight at once.
/// </summary>
/// <remarks>
/// Threads (measured on a 2-core machine, see <see cref="InferenceOptions.IntraOpThreads"/>): for the many short
/// batches a classifier sees, one intra-op thread per run with as many runs in flight as cores matches the throughput
/// of runs spread over every core at half the tail latency, because the operators are too short for ONNX Runtime's
/// thread pool to pay for its synchronisation. Spinning pool threads are turned off
/// so an idle pool never takes a core from a run. On CUDA the GPU does the work, so one host thread per run and
/// a couple of runs in flight.
/// </remarks>
internal sealed partial class SessionFactory(IOptions<InferenceOptions> options, ILogger<SessionFactory> logger)
{
    public const string Cpu = "CPU";
    public const string Cuda = "CUDA";

    /// <summary>
    /// From this many dense weights (<see cref="OnnxDenseWeights"/>: about the multiply-adds one token costs) a
    /// model is large enough for a run to be shared out between threads; see <see cref="InferenceOptions.IntraOpThreads"/>.
    /// </summary>
    public const long LargeModelDenseWeights = 1_000_000;

    /// <summary>Threads per run a large model gets by default, or every core where there are fewer.</summary>
    public const int LargeModelIntraOpThreads = 2;

    private readonly InferenceOptions settings = options.Value;

    /// <summary>Threads one run of a model with <paramref name="denseWeights"/> uses inside ONNX Runtime: the configured count, else by size.</summary>
    public int IntraOpThreads(long denseWeights) =>
        settings.IntraOpThreads > 0 ? settings.IntraOpThreads : DefaultIntraOpThreads(denseWeights, Environment.ProcessorCount);

    /// <summary>The default when <see cref="InferenceOptions.IntraOpThreads"/> is 0: one thread for small models, <see cref="LargeModelIntraOpThreads"/> for large ones.</summary>
    public static int DefaultIntraOpThreads(long denseWeights, int processorCount) =>
        denseWeights >= LargeModelDenseWeights ? Math.Clamp(processorCount, 1, LargeModelIntraOpThreads) : 1;

    /// <summary>Runs of <paramref name="session"/> the batcher keeps in flight: enough to use every core at its intra-op threads each.</summary>
    public static int ConcurrentRuns(ClassifierSession session) =>
        ConcurrentRuns(session.ExecutionProvider, session.IntraOpThreads, Environment.ProcessorCount);

    /// <summary>Two on CUDA, where the GPU does the work; on the CPU, cores divided by threads per run, at least one.</summary>
    public static int ConcurrentRuns(string executionProvider, int intraOpThreads, int processorCount) =>
        executionProvider == Cuda ? 2 : Math.Max(1, processorCount / Math.Max(1, intraOpThreads));

    /// <summary>
    /// Creates the session. With <see cref="ExecutionProviderPreference.Auto"/>, CUDA is tried first and a failure to
    /// append it (CPU build, missing libraries, no device) is logged and answered with the CPU provider; with
    /// <see cref="ExecutionProviderPreference.Cuda"/> the same failure fails the load.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model.</exception>
    public ClassifierSession Create(string model, int version, byte[] bytes)
    {
        long denseWeights = OnnxDenseWeights.Count(bytes);
        int threads = IntraOpThreads(denseWeights);
        LogThreads(logger, model, version, denseWeights, threads);
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            LogId = $"{model}:{version}",
        };
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");

        string provider = Cpu;
        if (settings.ExecutionProvider != ExecutionProviderPreference.Cpu)
        {
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(0);
                provider = Cuda;
            }
            catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
            {
                if (settings.ExecutionProvider == ExecutionProviderPreference.Cuda)
                {
                    throw new InvalidOperationException($"the CUDA execution provider could not be used ({e.Message}) and Inference:ExecutionProvider is Cuda", e);
                }

                LogCudaFallback(logger, model, version, e.Message);
            }
        }

        return ClassifierSession.Create(bytes, sessionOptions, provider);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}:{Version} has {DenseWeights} dense weights: {Threads} intra-op thread(s) per run")]
    private static partial void LogThreads(ILogger logger, string model, int version, long denseWeights, int threads);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}:{Version} runs on the CPU: the CUDA execution provider is not available ({Reason})")]
    private static partial void LogCudaFallback(ILogger logger, string model, int version, string reason);
}
