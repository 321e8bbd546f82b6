using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace TextClassification.Training;

/// <summary>
/// The device training runs on, decided once per process: CUDA when asked for (or allowed by <c>Auto</c>) and
/// available in this build and machine, else the CPU with every core (or <see cref="TrainingOptions.CpuThreads"/>).
/// </summary>
public sealed partial class TrainingDevice
{
    public TrainingDevice(IOptions<TrainingOptions> options, ILogger<TrainingDevice> logger)
    {
        var preference = options.Value.Device;
        bool cudaAvailable = preference != DevicePreference.Cpu && torch.cuda.is_available();
        if (preference == DevicePreference.Cuda && !cudaAvailable)
        {
            LogCudaUnavailable(logger);
        }

        Device = cudaAvailable ? torch.CUDA : torch.CPU;
        Name = cudaAvailable ? "cuda:0" : "cpu";
        CpuThreads = options.Value.CpuThreads > 0 ? options.Value.CpuThreads : Environment.ProcessorCount;
        torch.set_num_threads(CpuThreads);
        LogDevice(logger, Name, CpuThreads);
    }

    public torch.Device Device { get; }

    /// <summary>Threads for CPU work; <see cref="UseOnThisThread"/> applies them to the thread that trains.</summary>
    public int CpuThreads { get; }

    /// <summary>
    /// Applies the thread count to the calling thread. libtorch's CPU parallelism is OpenMP, whose thread count is a
    /// per-thread setting, so the thread that runs the training loop must set it itself.
    /// </summary>
    public void UseOnThisThread() => torch.set_num_threads(CpuThreads);

    /// <summary>The device as jobs report it: <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string Name { get; }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training:Device is Cuda, but CUDA is not available in this build or on this machine; training runs on the CPU")]
    private static partial void LogCudaUnavailable(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Training runs on {Device} ({Threads} CPU threads)")]
    private static partial void LogDevice(ILogger logger, string device, int threads);
}
