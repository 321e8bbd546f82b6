using TextClassification.Training.Export;
using TextClassification.Training.Export.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Export;

/// <summary>
/// Small networks shaped like the pieces real exporters put together, each written twice: as TorchSharp ops
/// (<see cref="Forward"/>) and as an ONNX graph (<see cref="Export"/>), from the same weights.
/// </summary>
internal abstract class TinyNetwork : IDisposable
{
    protected const int Vocabulary = 50;
    protected const int Width = 16;
    protected const int Labels = 3;
    public const int MaxSequence = 32;

    private readonly List<nn.Module> modules = [];

    public abstract float[,] Forward(long[,] inputIds, long[,] attentionMask);

    public abstract byte[] Export();

    public IReadOnlyList<OnnxParityBatch> Batches() => OnnxParityBatch.Standard(Vocabulary, MaxSequence);

    public void Dispose()
    {
        foreach (var module in modules)
        {
            module.Dispose();
        }
    }

    /// <summary>
    /// Fills every parameter from a private generator: module initialisers draw from torch's global generator,
    /// which tests running in parallel would share.
    /// </summary>
    protected T Seeded<T>(T module, ulong seed) where T : nn.Module
    {
        using var noGrad = no_grad();
        using var generator = new Generator(seed);
        foreach (var parameter in module.parameters())
        {
            using var values = randn(parameter.shape, generator: generator);
            parameter.copy_(values.mul_(0.5));
        }

        modules.Add(module);
        return module;
    }

    protected static (OnnxGraphBuilder Builder, string Ids, string Mask) NewGraph(string name)
    {
        var builder = new OnnxGraphBuilder(name);
        string ids = builder.AddInput("input_ids", OnnxElementType.Int64, "batch", "sequence");
        string mask = builder.AddInput("attention_mask", OnnxElementType.Int64, "batch", "sequence");
        return (builder, ids, mask);
    }

    /// <summary>Mean of <c>[batch, sequence, width]</c> over real tokens only.</summary>
    protected static Tensor MaskedMean(Tensor hidden, Tensor mask)
    {
        var weights = mask.to_type(ScalarType.Float32).unsqueeze(-1);
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9);
    }

    protected static string MaskedMean(OnnxGraphBuilder b, string hidden, string mask)
    {
        string weights = b.Cast(mask, OnnxElementType.Float);
        string summed = b.ReduceSum(b.Mul(hidden, b.Unsqueeze(weights, 2)), [1], keepDims: false);
        return b.Div(summed, b.Clip(b.ReduceSum(weights, [1], keepDims: true), min: 1e-9f));
    }

    /// <summary><c>x · Wᵀ + b</c> on a 3-D value: MatMul against the transposed weight, stored transposed.</summary>
    protected static string Linear(OnnxGraphBuilder b, string x, Linear layer, string name) =>
        b.Add(b.MatMul(x, b.AddInitializer($"{name}.weight_t", layer.weight!.t())), b.AddInitializer($"{name}.bias", layer.bias!));

    protected static string Classifier(OnnxGraphBuilder b, string pooled, Linear layer) =>
        b.Gemm(pooled, b.AddInitializer("classifier.weight", layer.weight!), b.AddInitializer("classifier.bias", layer.bias!), transB: true);

    protected static float[,] Run(Func<Tensor> forward)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return OnnxParityCheck.ToArray(forward());
    }
}

/// <summary>Embedding lookup, mean pooling over real tokens, a linear classifier.</summary>
internal sealed class MeanPoolingNetwork : TinyNetwork
{
    private readonly Embedding embedding;
    private readonly Linear classifier;

    public MeanPoolingNetwork()
    {
        embedding = Seeded(nn.Embedding(Vocabulary, Width), 1);
        classifier = Seeded(nn.Linear(Width, Labels), 2);
    }

    /// <summary>Shifts the classifier's bias in the network only, so an earlier export no longer matches it.</summary>
    public void PerturbClassifierBias(float delta)
    {
        using var noGrad = no_grad();
        classifier.bias!.add_(delta);
    }

    public override float[,] Forward(long[,] inputIds, long[,] attentionMask) => Run(() =>
        classifier.forward(MaskedMean(embedding.forward(tensor(inputIds)), tensor(attentionMask))));

    public override byte[] Export()
    {
        var (b, ids, mask) = NewGraph("mean_pooling");
        string hidden = b.Gather(b.AddInitializer("embedding.weight", embedding.weight!), ids);
        string logits = Classifier(b, MaskedMean(b, hidden, mask), classifier);
        b.AddOutput(logits, "logits", OnnxElementType.Float, "batch", Labels);
        return b.ToModel(new Dictionary<string, string> { ["architecture"] = "mean_pooling" });
    }
}

/// <summary>
/// Token and position embeddings, one single-head self-attention block that ignores padded keys, residual
/// LayerNorms around it and a GELU MLP, mean pooling, a linear classifier: a transformer encoder of depth one.
/// </summary>
internal sealed class AttentionNetwork : TinyNetwork
{
    private readonly Embedding tokens;
    private readonly Embedding positions;
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear attentionOutput;
    private readonly LayerNorm attentionNorm;
    private readonly Linear up;
    private readonly Linear down;
    private readonly LayerNorm mlpNorm;
    private readonly Linear classifier;

    public AttentionNetwork()
    {
        tokens = Seeded(nn.Embedding(Vocabulary, Width), 11);
        positions = Seeded(nn.Embedding(MaxSequence, Width), 12);
        query = Seeded(nn.Linear(Width, Width), 13);
        key = Seeded(nn.Linear(Width, Width), 14);
        value = Seeded(nn.Linear(Width, Width), 15);
        attentionOutput = Seeded(nn.Linear(Width, Width), 16);
        attentionNorm = Seeded(nn.LayerNorm(Width), 17);
        up = Seeded(nn.Linear(Width, 4 * Width), 18);
        down = Seeded(nn.Linear(4 * Width, Width), 19);
        mlpNorm = Seeded(nn.LayerNorm(Width), 20);
        classifier = Seeded(nn.Linear(Width, Labels), 21);
    }

    public override float[,] Forward(long[,] inputIds, long[,] attentionMask) => Run(() =>
    {
        var ids = tensor(inputIds);
        var mask = tensor(attentionMask);
        var x = tokens.forward(ids) + positions.forward(arange(ids.shape[1], dtype: ScalarType.Int64));
        var scores = query.forward(x).matmul(key.forward(x).transpose(1, 2)) / MathF.Sqrt(Width);
        scores = scores.masked_fill(mask.eq(0).unsqueeze(1), float.NegativeInfinity);
        var context = scores.softmax(-1).matmul(value.forward(x));
        var h = attentionNorm.forward(x + attentionOutput.forward(context));
        h = mlpNorm.forward(h + down.forward(nn.functional.gelu(up.forward(h))));
        return classifier.forward(MaskedMean(h, mask));
    });

    public override byte[] Export()
    {
        var (b, ids, mask) = NewGraph("attention");
        string sequenceLength = b.Squeeze(b.Shape(ids, start: 1, end: 2), 0);
        string positionIds = b.Range(b.Scalar(0L), sequenceLength, b.Scalar(1L));
        string x = b.Add(
            b.Gather(b.AddInitializer("tokens.weight", tokens.weight!), ids),
            b.Gather(b.AddInitializer("positions.weight", positions.weight!), positionIds));

        string scores = b.Div(
            b.MatMul(Linear(b, x, query, "query"), b.Transpose(Linear(b, x, key, "key"), 0, 2, 1)),
            b.Scalar(MathF.Sqrt(Width)));
        string paddedKeys = b.Unsqueeze(b.Equal(mask, b.Scalar(0L)), 1);
        scores = b.Where(paddedKeys, b.Scalar(float.NegativeInfinity), scores);
        string context = b.MatMul(b.Softmax(scores, axis: -1), Linear(b, x, value, "value"));
        string h = b.LayerNormalization(
            b.Add(x, Linear(b, context, attentionOutput, "attention_output")),
            b.AddInitializer("attention_norm.weight", attentionNorm.weight!),
            b.AddInitializer("attention_norm.bias", attentionNorm.bias!),
            epsilon: 1e-5f);
        string mlp = Linear(b, b.Gelu(Linear(b, h, up, "up")), down, "down");
        h = b.LayerNormalization(
            b.Add(h, mlp),
            b.AddInitializer("mlp_norm.weight", mlpNorm.weight!),
            b.AddInitializer("mlp_norm.bias", mlpNorm.bias!),
            epsilon: 1e-5f);

        b.AddOutput(Classifier(b, MaskedMean(b, h, mask), classifier), "logits", OnnxElementType.Float, "batch", Labels);
        return b.ToModel();
    }
}

/// <summary>Embeddings with padding zeroed, a width-3 Conv1d, ReLU, max pooling over real positions, a classifier.</summary>
internal sealed class ConvolutionNetwork : TinyNetwork
{
    private const int Channels = 8;

    private readonly Embedding embedding;
    private readonly Conv1d convolution;
    private readonly Linear classifier;

    public ConvolutionNetwork()
    {
        embedding = Seeded(nn.Embedding(Vocabulary, Width), 31);
        convolution = Seeded(nn.Conv1d(Width, Channels, 3, padding: 1L), 32);
        classifier = Seeded(nn.Linear(Channels, Labels), 33);
    }

    public override float[,] Forward(long[,] inputIds, long[,] attentionMask) => Run(() =>
    {
        var mask = tensor(attentionMask);
        var x = embedding.forward(tensor(inputIds)) * mask.to_type(ScalarType.Float32).unsqueeze(-1);
        var features = convolution.forward(x.transpose(1, 2)).relu();
        features = features.masked_fill(mask.eq(0).unsqueeze(1), float.NegativeInfinity);
        return classifier.forward(features.amax([2]));
    });

    public override byte[] Export()
    {
        var (b, ids, mask) = NewGraph("convolution");
        string x = b.Mul(
            b.Gather(b.AddInitializer("embedding.weight", embedding.weight!), ids),
            b.Unsqueeze(b.Cast(mask, OnnxElementType.Float), 2));
        string features = b.Relu(b.Conv(
            b.Transpose(x, 0, 2, 1),
            b.AddInitializer("convolution.weight", convolution.weight!),
            b.AddInitializer("convolution.bias", convolution.bias!),
            pads: [1, 1]));
        features = b.Where(b.Unsqueeze(b.Equal(mask, b.Scalar(0L)), 1), b.Scalar(float.NegativeInfinity), features);
        string pooled = b.ReduceMax(features, [2], keepDims: false);
        b.AddOutput(Classifier(b, pooled, classifier), "logits", OnnxElementType.Float, "batch", Labels);
        return b.ToModel();
    }
}
