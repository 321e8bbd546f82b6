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
    /// Native memory in use (tensors live there) and the live managed heap. Native use is glibc's own count of the
    /// bytes its allocator has handed out and not had back (mallinfo2: in-use arena bytes plus mmapped blocks), which
    /// libtorch's CPU allocator goes through; the resident set minus the GC's committed bytes, used before, swung by
    /// ±170 MB between runs once other tests in the process had left large managed arrays behind (the GC commits and
    /// decommits them on its own schedule), which says nothing about tensors.
    /// </summary>
    private static (long Native, long Managed) Measure()
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!OperatingSystem.IsLinux())
        {
            using var process = Process.GetCurrentProcess();
            return (process.WorkingSet64 - GC.GetGCMemoryInfo().TotalCommittedBytes, managed);
        }

        var info = MallInfo2();
        return ((long)(info.InUseArenaBytes + info.MappedBytes), managed);
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();

    /// <summary>glibc's <c>struct mallinfo2</c> (glibc 2.33 and later), field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallocInfo
    {
        public readonly nuint Arena;
        public readonly nuint FreeChunks;
        public readonly nuint FastBins;
        public readonly nuint MappedBlocks;
        public readonly nuint MappedBytes;
        public readonly nuint MaxTotalAllocated;
        public readonly nuint FreeFastBinBytes;
        public readonly nuint InUseArenaBytes;
        public readonly nuint FreeArenaBytes;
        public readonly nuint TopReleasable;
    }
}
