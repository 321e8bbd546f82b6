using System.Diagnostics;
using System.Threading.Channels;
using TextClassification.Inference.Sessions;

namespace TextClassification.Inference.Batching;

/// <summary>
/// Triton-style dynamic batching for one loaded model. Requests queue on a channel; one loop takes the first, then
/// gathers more until the batch holds <c>maxBatchSize</c> texts or <c>maxQueueDelay</c> has passed since it took the
/// first, and hands the batch to a run. Each run tokenizes its texts into one batch padded to its own longest row,
/// runs it once, and copies each request's rows back to that request.
/// </summary>
/// <remarks>
/// <para>Up to <c>concurrentRuns</c> batches run at once; while every run slot is busy the loop does not gather, so
/// requests accumulate and the next batch is fuller exactly when the model is busiest.</para>
/// <para>When requests come one at a time, each runs at once on the caller's thread: the batch the loop would make of
/// it holds it alone, and going through the loop would cost three thread hops (to the loop, to the run, back to the
/// caller), a large part of a small model's round trip. "One at a time" is judged over the last hundred or so
/// arrivals: if more than one in twenty found another request in the batcher, every request queues, because under
/// load one run of many texts costs far less CPU than many runs of one (measured: running alone whenever a slot was
/// free gained 17–20 % at concurrency 1 and lost 9–24 % at 16 and 64, see docs/benchmarks.md).</para>
/// <para>A request with more texts than <c>maxBatchSize</c> is split into chunks of at most that many, queued one
/// after another; it completes when its last chunk has run. A chunk never shares a batch beyond the limit: one that
/// would overflow the batch being gathered starts the next one instead.</para>
/// <para>A request cancelled while queued completes as cancelled at once; its chunks are skipped when the loop
/// reaches them. One cancelled after its batch started still runs with the batch (its rows are discarded), so
/// cancellation never changes what the other requests in that batch get.</para>
/// </remarks>
internal sealed class DynamicBatcher : IAsyncDisposable
{
    // Below this the timer's resolution (about a millisecond) would overshoot the wait, so the loop polls instead.
    private static readonly long TimerThreshold = Stopwatch.Frequency / 1000;

    private readonly ClassifierSession session;
    private readonly int maxBatchSize;
    private readonly long maxQueueDelayTicks;
    private readonly int concurrentRuns;
    private readonly ServingMetrics.ModelSeries metrics;
    private readonly Channel<Chunk> queue = Channel.CreateUnbounded<Chunk>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim runSlots;
    private readonly Task loop;

    // Above this share of recent requests arriving while another was in the batcher, none runs on its own thread.
    private const double MaxContentionToRunAlone = 0.05;

    // Requests now inside SubmitAsync, and the share of recent ones that arrived to find another there: an
    // exponential average over about the last hundred arrivals (updates may race; an average needs no exactness).
    private int active;
    private double contention;

    public DynamicBatcher(ClassifierSession session, int maxBatchSize, TimeSpan maxQueueDelay, int concurrentRuns, ServingMetrics.ModelSeries metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrentRuns, 1);
        this.session = session;
        this.maxBatchSize = maxBatchSize;
        maxQueueDelayTicks = (long)(maxQueueDelay.TotalSeconds * Stopwatch.Frequency);
        this.concurrentRuns = concurrentRuns;
        this.metrics = metrics;
        runSlots = new SemaphoreSlim(concurrentRuns, concurrentRuns);
        loop = Task.Run(LoopAsync);
    }

    /// <summary>
    /// Queues <paramref name="texts"/> (or, when requests come one at a time, runs them at once on this thread; see
    /// the remarks) and returns their logits, row-major <c>[texts, labels]</c>, once every chunk of them has run.
    /// </summary>
    /// <exception cref="ModelEvictedException">The batcher was shut down (its model unloaded) before the request was queued.</exception>
    public async Task<float[]> SubmitAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool alone = Interlocked.Increment(ref active) == 1;
        try
        {
            double recent = (Volatile.Read(ref contention) * 0.99) + (alone ? 0 : 0.01);
            Volatile.Write(ref contention, recent);
            // Alone, nothing of another request is queued or running: every queued chunk and every run belongs to a
            // request still inside this method (a cancelled one's leftovers are skipped, or hold a slot until done).
            if (alone && recent < MaxContentionToRunAlone && texts.Count <= maxBatchSize && TryTakeIdleSlot())
            {
                return RunAlone(texts);
            }

            return await QueueAsync(texts, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref active);
        }
    }

    private float[] RunAlone(IReadOnlyList<string> texts)
    {
        try
        {
            long started = Stopwatch.GetTimestamp();
            var result = session.Run(texts);
            metrics.QueueDuration.Observe(0);
            metrics.ObserveRun(texts.Count, started);
            return result.Logits;
        }
        finally
        {
            runSlots.Release();
        }
    }

    private async Task<float[]> QueueAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var request = new PendingRequest(texts.Count * session.LabelCount, (texts.Count + maxBatchSize - 1) / maxBatchSize);
        long now = Stopwatch.GetTimestamp();
        string[]? all = texts.Count > maxBatchSize ? texts as string[] ?? [.. texts] : null;
        for (int start = 0; start < texts.Count; start += maxBatchSize)
        {
            int count = Math.Min(maxBatchSize, texts.Count - start);
            IReadOnlyList<string> part = all is null ? texts : new ArraySegment<string>(all, start, count);
            var chunk = new Chunk(request, part, start, now);
            if (!queue.Writer.TryWrite(chunk))
            {
                // Chunks already queued are skipped once the request is completed here.
                request.Fail(new ModelEvictedException());
                break;
            }
        }

        await using var registration = cancellationToken.UnsafeRegister(static (state, token) => ((PendingRequest)state!).Cancel(token), request);
        return await request.Task;
    }

    /// <summary>Stops taking requests; those already queued still run. Completes when the last run has finished.</summary>
    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop;
        runSlots.Dispose();
    }

    /// <summary>A run slot for a request to run on its own thread, unless the batcher is shutting down.</summary>
    private bool TryTakeIdleSlot()
    {
        if (queue.Reader.Completion.IsCompleted)
        {
            return false;
        }

        try
        {
            return runSlots.Wait(0);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private async Task LoopAsync()
    {
        Chunk? carried = null;
        while (true)
        {
            // The first chunk before a slot: while waiting for one the loop holds no slot, so a request arriving at an
            // idle batcher finds one free and runs at once (see the remarks).
            var first = carried ?? await ReadLiveAsync();
            carried = null;

            if (first is null)
            {
                break;
            }

            await runSlots.WaitAsync();
            var batch = new List<Chunk>();
            int rows = 0;
            batch.Add(first);
            rows += first.Texts.Count;
            long deadline = Stopwatch.GetTimestamp() + maxQueueDelayTicks;
            while (rows < maxBatchSize)
            {
                if (queue.Reader.TryRead(out var next))
                {
                    if (next.Owner.IsCompleted)
                    {
                        continue;
                    }

                    if (rows + next.Texts.Count > maxBatchSize)
                    {
                        carried = next;
                        break;
                    }

                    batch.Add(next);
                    rows += next.Texts.Count;
                    continue;
                }

                long remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0 || !await WaitForMoreAsync(remaining))
                {
                    break;
                }
            }

            _ = Task.Run(() => Execute(batch));
        }

        // Wait for the runs in flight: disposal completes only after the last one.
        for (int i = 0; i < concurrentRuns; i++)
        {
            await runSlots.WaitAsync();
        }
    }

    /// <summary>The next queued chunk whose request is still waiting, or null when the queue is completed and empty.</summary>
    private async ValueTask<Chunk?> ReadLiveAsync()
    {
        while (await queue.Reader.WaitToReadAsync())
        {
            while (queue.Reader.TryRead(out var chunk))
            {
                if (!chunk.Owner.IsCompleted)
                {
                    return chunk;
                }
            }
        }

        return null;
    }

    /// <summary>Waits up to <paramref name="remainingTicks"/> for another chunk; false when the queue is completed.</summary>
    private async ValueTask<bool> WaitForMoreAsync(long remainingTicks)
    {
        if (remainingTicks < TimerThreshold)
        {
            // Sub-millisecond: yield and look again. Costs at most the queue delay of one core's time per batch.
            await Task.Yield();
            return !queue.Reader.Completion.IsCompleted;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds((double)remainingTicks / Stopwatch.Frequency));
        try
        {
            return await queue.Reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return true;
        }
    }

    private void Execute(List<Chunk> batch)
    {
        try
        {
            // Requests cancelled while the batch was gathered are left out; everyone else is unaffected.
            batch.RemoveAll(chunk => chunk.Owner.IsCompleted);
            if (batch.Count == 0)
            {
                return;
            }

            long started = Stopwatch.GetTimestamp();
            var texts = new List<string>(maxBatchSize);
            foreach (var chunk in batch)
            {
                metrics.QueueDuration.Observe(Stopwatch.GetElapsedTime(chunk.EnqueuedAt, started).TotalSeconds);
                texts.AddRange(chunk.Texts);
            }

            if (!session.TryAcquire())
            {
                foreach (var chunk in batch)
                {
                    chunk.Owner.Fail(new ModelEvictedException());
                }

                return;
            }

            BatchLogits result;
            try
            {
                result = session.Run(texts);
            }
            catch (Exception e)
            {
                foreach (var chunk in batch)
                {
                    chunk.Owner.Fail(e);
                }

                return;
            }
            finally
            {
                session.Release();
            }

            metrics.ObserveRun(texts.Count, started);
            int labels = session.LabelCount;
            int row = 0;
            foreach (var chunk in batch)
            {
                chunk.Owner.Complete(result.Logits.AsSpan(row * labels, chunk.Texts.Count * labels), chunk.RowOffset * labels);
                row += chunk.Texts.Count;
            }
        }
        finally
        {
            runSlots.Release();
        }
    }

    private sealed record Chunk(PendingRequest Owner, IReadOnlyList<string> Texts, int RowOffset, long EnqueuedAt);

    /// <summary>One submitted request: where its rows go and how many chunks are still to run.</summary>
    private sealed class PendingRequest(int values, int chunks)
    {
        private readonly TaskCompletionSource<float[]> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly float[] logits = new float[values];
        private int remaining = chunks;

        public Task<float[]> Task => completion.Task;

        public bool IsCompleted => completion.Task.IsCompleted;

        public void Complete(ReadOnlySpan<float> rows, int offset)
        {
            // Chunks write disjoint ranges; the last to finish publishes the array (Interlocked is a full fence).
            rows.CopyTo(logits.AsSpan(offset));
            if (Interlocked.Decrement(ref remaining) == 0)
            {
                completion.TrySetResult(logits);
            }
        }

        public void Fail(Exception error) => completion.TrySetException(error);

        public void Cancel(CancellationToken token) => completion.TrySetCanceled(token);
    }
}
