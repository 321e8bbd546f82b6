using System.Diagnostics;
using System.Runtime.InteropServices;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Tests.Loop;

[Collection(TorchCollection.Name)]
public sealed class MemoryTests
{
    [Fact]
    public void Memory_stays_flat_across_trainings_in_one_process()
    {
        // A model whose tensors (weights, gradients, two AdamW moments: 4 × 16 MB) would show if a run leaked them.
        var request = TinyData.Request() with
        {
            Tokenizer = TinyData.Tokenizer with { CharNGramBuckets = 64_000 },
            Model = new NGramBagConfig { EmbeddingDim = 64 },
            Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 },
        };
        var readings = new List<(long Native, long Managed)>();
        for (int run = 0; run < 6; run++)
        {
            Trainer.Train(request, new RecordingObserver());
            readings.Add(Measure());
        }

        // The first runs fill allocator pools and JIT caches; after them, runs must not add up.
        string report = string.Join(", ", readings.Select(r => $"{r.Native / 1_000_000}+{r.Managed / 1_000_000}"));
        Assert.True(readings[^1].Native - readings[2].Native < 24_000_000, $"native+managed MB after each run: {report}");
        Assert.True(readings[^1].Managed - readings[2].Managed < 8_000_000, $"native+managed MB after each run: {report}");
    }

    /// <summary>
    /// Resident memory outside the managed heap (tensors live there), and the live managed heap. The garbage
    /// collector's committed-but-free memory and glibc's cached free pages come and go with timing, so they are
    /// collected, trimmed and left out.
    /// </summary>
    private static (long Native, long Managed) Measure()
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (OperatingSystem.IsLinux())
        {
            MallocTrim(0);
        }

        using var process = Process.GetCurrentProcess();
        return (process.WorkingSet64 - GC.GetGCMemoryInfo().TotalCommittedBytes, managed);
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
