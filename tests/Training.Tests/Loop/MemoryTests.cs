using System.Diagnostics;
using System.Runtime.InteropServices;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Tests.Loop;

[Collection(TorchCollection.Name)]
public sealed class MemoryTests
{
    [Fact]
    public void Resident_memory_stays_flat_across_trainings_in_one_process()
    {
        // A model whose tensors (weights, gradients, two AdamW moments: 4 × 16 MB) would show if a run leaked them.
        var request = TinyData.Request() with
        {
            Tokenizer = TinyData.Tokenizer with { CharNGramBuckets = 64_000 },
            Model = new NGramBagConfig { EmbeddingDim = 64 },
            Hyperparameters = TinyData.Hyperparameters with { Epochs = 1 },
        };
        var readings = new List<long>();
        for (int run = 0; run < 6; run++)
        {
            var observer = new RecordingObserver();
            Trainer.Train(request, observer);
            readings.Add(ResidentAfterCollection());
        }

        // The first runs fill allocator pools and JIT caches; after them, runs must not add up. A leaked model would
        // add about 64 MB per run.
        long growth = readings[^1] - readings[2];
        Assert.True(
            growth < 48_000_000,
            $"resident memory after each run (MB): {string.Join(", ", readings.Select(r => r / 1_000_000))}; managed heap now {GC.GetTotalMemory(false) / 1_000_000} MB");
    }

    private static long ResidentAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (OperatingSystem.IsLinux())
        {
            // Give freed native pages back so the reading shows what is still referenced, not allocator caches.
            MallocTrim(0);
        }

        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
