namespace TextClassification.Inference.Tests.Tokenization;

/// <summary>Bytes this thread allocates while running code, for tests that hold a hot path to allocating nothing.</summary>
internal static class ThreadAllocations
{
    /// <summary>
    /// The fewest bytes <paramref name="action"/> allocated on this thread over up to three rounds (stopping at a
    /// round of none). A real allocation shows in every round, while a garbage collection that another test's thread
    /// sets off mid-round can move this thread's counter by most of an allocation quantum (8 KB) without the code
    /// allocating: seen once in CI, with every test class of the assembly running side by side.
    /// </summary>
    public static long Fewest(Action action)
    {
        long fewest = long.MaxValue;
        for (int round = 0; round < 3 && fewest > 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            action();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }
}
