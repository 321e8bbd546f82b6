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
/// thread pool to pay for its synchronisation. That holds for a 6-layer encoder too: two threads per run make a
/// MiniLM batch faster but serve fewer requests a second at full load (the measurements are on the option). Spinning
/// pool threads are turned off
/// so an idle pool never takes a core from a run. On CUDA the GPU does the work, so one host thread per run and
/// a couple of runs in flight.
/// </remarks>
internal sealed partial class SessionFactory(IOptions<InferenceOptions> options, ILogger<SessionFactory> logger)
{
    public const string Cpu = "CPU";
    public const string Cuda = "CUDA";

    private readonly InferenceOptions settings = options.Value;

    /// <summary>Threads one run uses inside ONNX Runtime.</summary>
    public int IntraOpThreads => settings.IntraOpThreads > 0 ? settings.IntraOpThreads : 1;

    /// <summary>Runs of one model the batcher keeps in flight: enough to use every core at <see cref="IntraOpThreads"/> each.</summary>
    public int ConcurrentRuns(string executionProvider) =>
        executionProvider == Cuda ? 2 : Math.Max(1, Environment.ProcessorCount / IntraOpThreads);

    /// <summary>
    /// Creates the session. With <see cref="ExecutionProviderPreference.Auto"/>, CUDA is tried first and a failure to
    /// append it (CPU build, missing libraries, no device) is logged and answered with the CPU provider; with
    /// <see cref="ExecutionProviderPreference.Cuda"/> the same failure fails the load.
    /// </summary>
    public ClassifierSession Create(string model, int version, byte[] bytes)
    {
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = IntraOpThreads,
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}:{Version} runs on the CPU: the CUDA execution provider is not available ({Reason})")]
    private static partial void LogCudaFallback(ILogger logger, string model, int version, string reason);
}
