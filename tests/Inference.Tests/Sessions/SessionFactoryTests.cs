using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tests.Support;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Export.Onnx;

namespace TextClassification.Inference.Tests.Sessions;

public sealed class SessionFactoryTests
{
    // A hidden layer of 1,000 × 1,000 and a head of 3 × 1,000: just over SessionFactory.LargeModelDenseWeights.
    private const int WideWidth = 1000;

    private static SessionFactory Factory(int intraOpThreads = 0) =>
        new(Options.Create(new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = intraOpThreads }), NullLogger<SessionFactory>.Instance);

    [Fact]
    public void Dense_weights_count_what_matmul_and_gemm_multiply_by_and_not_embeddings_or_biases()
    {
        Assert.Equal(3 * 3, OnnxDenseWeights.Count(TinyClassifier.Build()));
        Assert.Equal((WideWidth * WideWidth) + (3 * WideWidth), OnnxDenseWeights.Count(Wide()));
    }

    [Fact]
    public void Bytes_that_are_not_a_protobuf_message_are_refused()
    {
        Assert.Throws<InvalidDataException>(() => OnnxDenseWeights.Count([0x0A, 0xFF]));
        Assert.Throws<InvalidDataException>(() => OnnxDenseWeights.Count([0x0A, 0x05, 0x01]));
    }

    [Fact]
    public void A_small_model_runs_on_one_thread_with_a_run_in_flight_per_core()
    {
        var session = Factory().Create("tiny", 1, TinyClassifier.Build());
        try
        {
            Assert.Equal(1, session.IntraOpThreads);
            Assert.Equal(Environment.ProcessorCount, SessionFactory.ConcurrentRuns(session));
        }
        finally
        {
            session.Release();
        }
    }

    [Fact]
    public void A_large_model_shares_each_run_between_two_threads_where_the_machine_has_them()
    {
        var session = Factory().Create("wide", 1, Wide());
        try
        {
            int expected = Math.Min(2, Environment.ProcessorCount);
            Assert.Equal(expected, session.IntraOpThreads);
            Assert.Equal(Math.Max(1, Environment.ProcessorCount / expected), SessionFactory.ConcurrentRuns(session));
        }
        finally
        {
            session.Release();
        }
    }

    [Fact]
    public void A_configured_thread_count_applies_to_every_model_whatever_its_size()
    {
        var factory = Factory(intraOpThreads: 3);
        foreach (var model in new[] { TinyClassifier.Build(), Wide() })
        {
            var session = factory.Create("m", 1, model);
            try
            {
                Assert.Equal(3, session.IntraOpThreads);
            }
            finally
            {
                session.Release();
            }
        }
    }

    [Theory]
    [InlineData(9, 2, 1)]
    [InlineData(29_000, 16, 1)] // the default n-gram bag
    [InlineData(290_000, 2, 1)] // the default Transformer (2 layers, width 128)
    [InlineData(999_999, 16, 1)]
    [InlineData(1_000_000, 2, 2)]
    [InlineData(10_700_000, 2, 2)] // MiniLM-L6, float32 or INT8
    [InlineData(10_700_000, 16, 2)]
    [InlineData(10_700_000, 1, 1)]
    public void The_default_gives_large_models_two_threads_per_run_and_small_ones_one(long denseWeights, int cores, int expected) =>
        Assert.Equal(expected, SessionFactory.DefaultIntraOpThreads(denseWeights, cores));

    [Theory]
    [InlineData(SessionFactory.Cpu, 1, 2, 2)]
    [InlineData(SessionFactory.Cpu, 2, 2, 1)]
    [InlineData(SessionFactory.Cpu, 2, 16, 8)]
    [InlineData(SessionFactory.Cpu, 4, 2, 1)]
    [InlineData(SessionFactory.Cuda, 2, 16, 2)]
    public void Runs_in_flight_fill_the_cores_at_the_threads_each_run_uses(string provider, int threads, int cores, int expected) =>
        Assert.Equal(expected, SessionFactory.ConcurrentRuns(provider, threads, cores));

    /// <summary>TinyClassifier's vocabulary embedded <see cref="WideWidth"/> wide, a square hidden MatMul, masked sum, Gemm head.</summary>
    private static byte[] Wide()
    {
        var metadata = TinyClassifier.Metadata();
        int labels = metadata.Labels.Count;
        int vocabularySize = new TextTokenizer(metadata.Tokenizer).VocabularySize;
        var b = new OnnxGraphBuilder("wide_classifier");
        string ids = b.AddInput(ClassifierMetadata.InputIdsName, OnnxElementType.Int64, "batch", "sequence");
        string mask = b.AddInput(ClassifierMetadata.AttentionMaskName, OnnxElementType.Int64, "batch", "sequence");
        string embedded = b.Gather(b.AddInitializer("embedding", new float[vocabularySize * WideWidth], vocabularySize, WideWidth), ids);
        string hidden = b.MatMul(embedded, b.AddInitializer("hidden", new float[WideWidth * WideWidth], WideWidth, WideWidth));
        string pooled = b.ReduceSum(b.Mul(hidden, b.Unsqueeze(b.Cast(mask, OnnxElementType.Float), 2)), [1], keepDims: false);
        string logits = b.Gemm(pooled, b.AddInitializer("classifier_weight", new float[labels * WideWidth], labels, WideWidth), b.AddInitializer("classifier_bias", new float[labels], labels), transB: true);
        b.AddOutput(logits, ClassifierMetadata.LogitsName, OnnxElementType.Float, "batch", labels);
        return b.ToModel(metadata.ToProperties());
    }
}
