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
        int threads = options.Value.CpuThreads > 0 ? options.Value.CpuThreads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        LogDevice(logger, Name, threads);
    }

    public torch.Device Device { get; }

    /// <summary>The device as jobs report it: <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string Name { get; }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training:Device is Cuda, but CUDA is not available in this build or on this machine; training runs on the CPU")]
    private static partial void LogCudaUnavailable(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Training runs on {Device} ({Threads} CPU threads)")]
    private static partial void LogDevice(ILogger logger, string device, int threads);
}
