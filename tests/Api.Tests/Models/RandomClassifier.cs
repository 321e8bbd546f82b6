using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Export.Onnx;

namespace TextClassification.Api.Tests.Models;

/// <summary>
/// Real ONNX classifiers of any shape, written directly with random weights instead of trained: each token id has a
/// random embedding, a text is the masked mean of its tokens' embeddings, and a linear layer gives one logit per
/// label (Gather → mask → mean → Gemm, the graph an n-gram bag exports). What such a model predicts means nothing;
/// its shape (label count, sequence length, out-of-scope settings) is what the tests that use it vary, at the cost
/// of a few kilobytes and milliseconds instead of a training run.
/// </summary>
internal static class RandomClassifier
{
    /// <summary>Words the tokenizer knows; everything else encodes as the unknown id, which has an embedding too.</summary>
    public static readonly string[] Vocabulary = ["good", "bad", "fast", "slow", "tasty", "bland", "card", "balance", "很快", "好吃"];

    private const int Width = 8;

    /// <summary><paramref name="count"/> distinct labels, <c>label_0000</c>, <c>label_0001</c>, ….</summary>
    public static string[] Labels(int count) =>
        Enumerable.Range(0, count).Select(i => "label_" + i.ToString("D4", CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// What a job without <c>out_of_scope_label</c> exports: no threshold and no out-of-scope label, so every text gets
    /// its best label.
    /// </summary>
    public static ClassifierMetadata Metadata(IReadOnlyList<string> labels, int maxSequenceLength) =>
        new("random-mean", labels, new TokenizerDefinition(new TokenizerSettings { MaxSequenceLength = maxSequenceLength }, Vocabulary), null, null);

    /// <summary>The serialized model; the same <paramref name="seed"/> gives the same weights.</summary>
    public static byte[] Build(ClassifierMetadata metadata, int seed)
    {
        var random = new Random(seed);
        int labels = metadata.Labels.Count;
        int vocabularySize = new TextTokenizer(metadata.Tokenizer).VocabularySize;

        var b = new OnnxGraphBuilder("random_mean_classifier");
        string ids = b.AddInput(ClassifierMetadata.InputIdsName, OnnxElementType.Int64, "batch", "sequence");
        string mask = b.AddInput(ClassifierMetadata.AttentionMaskName, OnnxElementType.Int64, "batch", "sequence");
        string hidden = b.Gather(b.AddInitializer("embedding", Normal(random, vocabularySize * Width), vocabularySize, Width), ids);
        string weights = b.Unsqueeze(b.Cast(mask, OnnxElementType.Float), 2);
        string mean = b.Div(b.ReduceSum(b.Mul(hidden, weights), [1], keepDims: false), b.ReduceSum(weights, [1], keepDims: false));
        string logits = b.Gemm(
            mean,
            b.AddInitializer("classifier_weight", Normal(random, labels * Width), labels, Width),
            b.AddInitializer("classifier_bias", Normal(random, labels), labels),
            transB: true);
        b.AddOutput(logits, ClassifierMetadata.LogitsName, OnnxElementType.Float, "batch", labels);
        return b.ToModel(metadata.ToProperties());
    }

    /// <summary>
    /// Stores <paramref name="onnx"/> in the service's artifact store and inserts its version row, as a succeeded
    /// fine-tuning job does, so that the service loads it like any other model.
    /// </summary>
    public static async Task PublishAsync(IServiceProvider services, string name, int version, ClassifierMetadata metadata, byte[] onnx)
    {
        var store = services.GetRequiredService<IArtifactStore>();
        StoredArtifact stored;
        await using (var write = store.BeginWrite($"models/{name}/{version}/model.onnx"))
        {
            await write.WriteAsync(onnx);
            stored = await write.CommitAsync();
        }

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        db.ModelVersions.Add(new ModelVersion
        {
            ModelName = name,
            Version = version,
            JobId = $"ftjob_{Guid.NewGuid():N}",
            Architecture = metadata.Architecture,
            LabelsJson = JsonSerializer.Serialize(metadata.Labels),
            MetricsJson = "{}",
            OutOfScopeThreshold = metadata.OutOfScopeThreshold,
            CheckpointArtifactKey = $"checkpoints/{name}/{version}.pt",
            CheckpointSha256 = new string('0', 64),
            CheckpointSizeBytes = 1,
            OnnxArtifactKey = stored.Key,
            OnnxSha256 = stored.Sha256,
            OnnxSizeBytes = stored.SizeBytes,
            Opset = (int)OnnxGraphBuilder.OpsetVersion,
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
    }

    /// <summary>Roughly standard normal values (the sum of four uniforms, rescaled): enough spread for uneven softmaxes.</summary>
    private static float[] Normal(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() + random.NextDouble() - 2) * Math.Sqrt(3));
        }

        return values;
    }
}
