using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Batching;
using TextClassification.Inference.Registry;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tests.Support;

namespace TextClassification.Inference.Tests.Batching;

public sealed class DynamicBatcherTests
{
    private static readonly string[] Words = TinyClassifier.Vocabulary;

    private static ClassifierSession NewSession()
    {
        using var options = new SessionOptions();
        return ClassifierSession.Create(TinyClassifier.Build(), options, "CPU");
    }

    /// <summary>Request i: between 1 and 5 texts built from the words, deterministic per i.</summary>
    private static string[] TextsFor(int request)
    {
        var random = new Random(request);
        return Enumerable.Range(0, random.Next(1, 6))
            .Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(1, 5)).Select(_ => Words[random.Next(Words.Length)])))
            .ToArray();
    }

    [Fact]
    public async Task Many_concurrent_requests_each_get_their_own_rows_in_order()
    {
        var session = NewSession();
        await using var batcher = new DynamicBatcher(session, maxBatchSize: 8, TimeSpan.FromMilliseconds(2), concurrentRuns: 2, new ServingMetrics().For("m", 1));

        var requests = Enumerable.Range(0, 200).Select(TextsFor).ToArray();
        var results = await Task.WhenAll(requests.Select(texts => Task.Run(() => batcher.SubmitAsync(texts, CancellationToken.None))));

        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(session.Run(requests[i]).Logits, results[i]);
        }

        session.Release();
    }

    [Fact]
    public async Task A_request_at_an_idle_batcher_is_answered_on_the_callers_thread_and_every_text_runs_once()
    {
        var session = NewSession();
        var series = new ServingMetrics().For("m", 1);
        await using var batcher = new DynamicBatcher(session, maxBatchSize: 8, TimeSpan.Zero, concurrentRuns: 1, series);

        // Nothing queued and the run slot free: answered before SubmitAsync returns, without going through the loop.
        var alone = batcher.SubmitAsync(["alpha beta"], CancellationToken.None);
        Assert.True(alone.IsCompletedSuccessfully);
        Assert.Equal(session.Run(["alpha beta"]).Logits, await alone);

        // A burst from many threads: some run on their own threads, the rest queue for the loop; each gets its rows.
        var requests = Enumerable.Range(0, 300).Select(TextsFor).ToArray();
        var results = await Task.WhenAll(requests.Select(texts => Task.Run(() => batcher.SubmitAsync(texts, CancellationToken.None))));
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(session.Run(requests[i]).Logits, results[i]);
        }

        // Every text ran exactly once, whichever way it went.
        Assert.Equal(1 + requests.Sum(texts => texts.Length), series.BatchSize.Sum);
        session.Release();
    }

    [Fact]
    public async Task Requests_that_arrive_while_another_waits_in_the_batcher_join_its_batch_instead_of_running_alone()
    {
        var session = NewSession();
        var series = new ServingMetrics().For("m", 1);
        // A long queue delay: a batch short of 8 rows waits for more, so the first request stays in the batcher.
        await using var batcher = new DynamicBatcher(session, maxBatchSize: 8, TimeSpan.FromSeconds(20), concurrentRuns: 1, series);

        // 9 texts: a full batch of 8 runs at once, the ninth waits in the next batch for company.
        string[] large = [.. Enumerable.Range(0, 9).Select(i => Words[i % Words.Length])];
        var waiting = batcher.SubmitAsync(large, CancellationToken.None);
        string[][] singles = [.. Enumerable.Range(0, 7).Select(i => new[] { Words[(i + 3) % Words.Length] })];
        var joined = singles.Select(texts => batcher.SubmitAsync(texts, CancellationToken.None)).ToArray();

        Assert.Equal(session.Run(large).Logits, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        for (int i = 0; i < singles.Length; i++)
        {
            Assert.Equal(session.Run(singles[i]).Logits, await joined[i]);
        }

        // Two runs: the first 8 texts, then the ninth with the seven singles, which filled the batch.
        Assert.Equal(2, series.BatchSize.Count);
        Assert.Equal(16, series.BatchSize.Sum);
        session.Release();
    }

    [Fact]
    public async Task A_request_larger_than_the_batch_is_split_and_reassembled_in_order()
    {
        var session = NewSession();
        await using var batcher = new DynamicBatcher(session, maxBatchSize: 3, TimeSpan.Zero, concurrentRuns: 2, new ServingMetrics().For("m", 1));
        var texts = Enumerable.Range(0, 11).Select(i => Words[i % Words.Length]).ToArray();

        var logits = await batcher.SubmitAsync(texts, CancellationToken.None);

        Assert.Equal(session.Run(texts).Logits, logits);
        session.Release();
    }

    [Fact]
    public async Task Cancelled_requests_leave_the_others_in_their_batches_untouched()
    {
        var session = NewSession();
        await using var batcher = new DynamicBatcher(session, maxBatchSize: 16, TimeSpan.FromMilliseconds(5), concurrentRuns: 1, new ServingMetrics().For("m", 1));
        var requests = Enumerable.Range(0, 60).Select(TextsFor).ToArray();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var tasks = new List<(int Index, CancellationTokenSource? Source, Task<float[]> Task)>();
        for (int i = 0; i < requests.Length; i++)
        {
            var texts = requests[i];
            switch (i % 3)
            {
                case 0:
                    tasks.Add((i, null, batcher.SubmitAsync(texts, CancellationToken.None)));
                    break;
                case 1:
                    var source = new CancellationTokenSource();
                    tasks.Add((i, source, batcher.SubmitAsync(texts, source.Token)));
                    await source.CancelAsync(); // while queued, or already running: either way the batch carries on
                    break;
                default:
                    tasks.Add((i, null, batcher.SubmitAsync(texts, cancelled.Token)));
                    break;
            }
        }

        foreach (var (index, source, task) in tasks)
        {
            if (index % 3 == 0)
            {
                Assert.Equal(session.Run(requests[index]).Logits, await task);
            }
            else if (index % 3 == 2)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
            }
            else
            {
                try
                {
                    Assert.Equal(session.Run(requests[index]).Logits, await task);
                }
                catch (OperationCanceledException)
                {
                    // Cancelled before its batch ran: allowed.
                }

                source!.Dispose();
            }
        }

        session.Release();
    }

    [Fact]
    public async Task A_disposed_batcher_finishes_what_was_queued_and_refuses_new_requests()
    {
        var session = NewSession();
        var batcher = new DynamicBatcher(session, maxBatchSize: 4, TimeSpan.FromMilliseconds(1), concurrentRuns: 1, new ServingMetrics().For("m", 1));
        var queued = Enumerable.Range(0, 10).Select(i => batcher.SubmitAsync(TextsFor(i), CancellationToken.None)).ToArray();

        await batcher.DisposeAsync();

        for (int i = 0; i < queued.Length; i++)
        {
            Assert.Equal(session.Run(TextsFor(i)).Logits, await queued[i]);
        }

        await Assert.ThrowsAsync<ModelEvictedException>(() => batcher.SubmitAsync(["alpha"], CancellationToken.None));
        session.Release();
    }

    [Fact]
    public async Task Concurrent_predictions_through_the_service_match_each_text_predicted_alone()
    {
        await using var host = await ServingHost.StartAsync(new Dictionary<string, string?> { ["MaxBatchSize"] = "8", ["MaxQueueDelayMicroseconds"] = "2000" });
        await host.PublishAsync("intents", 1, TinyClassifier.Build());
        var requests = Enumerable.Range(0, 100).Select(TextsFor).ToArray();
        var selector = new ModelSelector("intents");

        var results = await Task.WhenAll(requests.Select(texts => Task.Run(() => host.Predictions.PredictAsync(selector, texts, 2, CancellationToken.None))));

        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(requests[i].Length, results[i].Predictions.Count);
            for (int t = 0; t < requests[i].Length; t++)
            {
                var alone = await host.Predictions.PredictAsync(selector, [requests[i][t]], 2, CancellationToken.None);
                Assert.Equal(alone.Predictions[0], results[i].Predictions[t] with { Probabilities = alone.Predictions[0].Probabilities, TopK = alone.Predictions[0].TopK });
                Assert.Equal(alone.Predictions[0].Probabilities, results[i].Predictions[t].Probabilities);
                Assert.Equal(alone.Predictions[0].TopK, results[i].Predictions[t].TopK);
            }
        }
    }
}
