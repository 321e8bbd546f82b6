namespace TextClassification.Training;

/// <summary>Where training runs.</summary>
public enum DevicePreference
{
    /// <summary>CUDA when the build has it and a GPU is present, else the CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

/// <summary>
/// How training uses the machine. Bound from the <c>Training</c> section:
/// <code>
/// "Training": {
///   "Device": "Auto" | "Cpu" | "Cuda",
///   "CpuThreads": 0            // 0: one per logical core
/// }
/// </code>
/// </summary>
public sealed class TrainingOptions
{
    public const string SectionName = "Training";

    public DevicePreference Device { get; set; } = DevicePreference.Auto;

    [System.ComponentModel.DataAnnotations.Range(0, 1024)]
    public int CpuThreads { get; set; }
}
