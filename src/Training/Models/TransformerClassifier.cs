using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>Shape of <see cref="TransformerClassifier"/>.</summary>
public sealed record TransformerConfig : ModelConfig
{
    public int ModelDim { get; init; } = 128;

    /// <summary>Attention heads per layer; must divide <see cref="ModelDim"/>.</summary>
    public int Heads { get; init; } = 4;

    public int Layers { get; init; } = 2;

    public int FeedForwardDim { get; init; } = 256;

    /// <summary>Rows of the learned position embedding: the longest sequence the model accepts.</summary>
    public int MaxPositions { get; init; } = 64;

    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (ModelDim is < 1 or > 4096)
        {
            errors.Add($"{nameof(ModelDim)} must be between 1 and 4096");
        }

        if (Heads < 1 || ModelDim % Math.Max(Heads, 1) != 0)
        {
            errors.Add($"{nameof(Heads)} must be positive and divide {nameof(ModelDim)}");
        }

        if (Layers is < 1 or > 48)
        {
            errors.Add($"{nameof(Layers)} must be between 1 and 48");
        }

        if (FeedForwardDim is < 1 or > 16384)
        {
            errors.Add($"{nameof(FeedForwardDim)} must be between 1 and 16384");
        }

        if (MaxPositions is < 1 or > 65536)
        {
            errors.Add($"{nameof(MaxPositions)} must be between 1 and 65536");
        }

        return errors;
    }
}

/// <summary>
/// A small pre-LN Transformer encoder with learned positions and masked mean pooling. Attention is written out from
/// Linear, MatMul and Softmax (no fused kernels), so the ONNX graph can repeat it exactly.
/// </summary>
/// <remarks>
/// State dict (ONNX in brackets):
/// <list type="bullet">
/// <item><c>token_embedding.weight [vocabulary, model_dim]</c> [Gather on input_ids]</item>
/// <item><c>position_embedding.weight [max_positions, model_dim]</c>, rows <c>0..seq-1</c> added [Slice, Add]</item>
/// <item>per layer <c>i</c>, <c>x = x + attention(attention_norm(x))</c> then <c>x = x + feed_forward(feed_forward_norm(x))</c>:
/// <c>layers.i.attention_norm.{weight,bias} [model_dim]</c> [LayerNormalization, epsilon 1e-5];
/// <c>layers.i.attention.{query,key,value,output}.{weight [model_dim, model_dim], bias [model_dim]}</c>;
/// <c>layers.i.feed_forward_norm.{weight,bias}</c>;
/// <c>layers.i.feed_forward_in.{weight [ff_dim, model_dim], bias}</c>, GELU (erf form) [Erf, Mul, Add],
/// <c>layers.i.feed_forward_out.{weight [model_dim, ff_dim], bias}</c></item>
/// <item><c>final_norm.{weight,bias}</c>, masked mean over positions, <c>classifier.{weight [labels, model_dim], bias}</c></item>
/// </list>
/// Attention per layer: <c>q, k, v = x·Wᵀ + b</c> reshaped to <c>[batch, heads, seq, head_dim]</c> [Reshape,
/// Transpose]; <c>scores = q·kᵀ / √head_dim + (1 − mask)·(−1e9)</c> broadcast over heads and queries [MatMul, Div,
/// Sub, Mul, Add]; <c>softmax</c> over keys; <c>context = probs·v</c> back to <c>[batch, seq, model_dim]</c>; then
/// <c>output</c>. Linear layers with 3-D input are MatMul + Add in ONNX. Dropout acts only in training.
/// </remarks>
public sealed class TransformerClassifier : TextClassifierModule
{
    private readonly Embedding tokenEmbedding;
    private readonly Embedding positionEmbedding;
    private readonly ModuleList<EncoderLayer> layers;
    private readonly LayerNorm finalNorm;
    private readonly Linear classifier;
    private readonly SeededDropout dropout;

    /// <param name="config">The shape.</param>
    /// <param name="generator">Where the initial weights come from (the training run's); <see langword="null"/> for torch's default.</param>
    public TransformerClassifier(TransformerConfig config, Generator? generator = null)
        : base(nameof(TransformerClassifier))
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = config.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid transformer configuration: {string.Join("; ", errors)}", nameof(config));
        }

        Config = config;
        tokenEmbedding = nn.Embedding(config.VocabularySize, config.ModelDim);
        positionEmbedding = nn.Embedding(config.MaxPositions, config.ModelDim);
        SeededInit.Normal(tokenEmbedding, 0.02, generator);
        SeededInit.Normal(positionEmbedding, 0.02, generator);
        layers = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new EncoderLayer(config, generator)).ToArray());
        finalNorm = nn.LayerNorm(config.ModelDim);
        classifier = nn.Linear(config.ModelDim, config.LabelCount);
        SeededInit.Linear(classifier, generator);
        dropout = new SeededDropout(config.Dropout);
        register_module("token_embedding", tokenEmbedding);
        register_module("position_embedding", positionEmbedding);
        register_module("layers", layers);
        register_module("final_norm", finalNorm);
        register_module("classifier", classifier);
        register_module("dropout", dropout);
    }

    public override ModelConfig Config { get; }

    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        long length = inputIds.shape[1];
        var positions = arange(length, dtype: int64, device: inputIds.device);
        var x = dropout.forward(tokenEmbedding.forward(inputIds).add(positionEmbedding.forward(positions), TorchScalars.One));
        var keyBias = SelfAttention.KeyBias(attentionMask, x.dtype);
        foreach (var layer in layers)
        {
            x = layer.forward(x, keyBias);
        }

        var pooled = MaskedMean(finalNorm.forward(x), attentionMask);
        return classifier.forward(dropout.forward(pooled)).MoveToOuterDisposeScope();
    }

    /// <summary>One pre-LN encoder layer.</summary>
    private sealed class EncoderLayer : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly LayerNorm attentionNorm;
        private readonly SelfAttention attention;
        private readonly LayerNorm feedForwardNorm;
        private readonly Linear feedForwardIn;
        private readonly Linear feedForwardOut;
        private readonly SeededDropout dropout;

        public EncoderLayer(TransformerConfig config, Generator? generator)
            : base(nameof(EncoderLayer))
        {
            attentionNorm = nn.LayerNorm(config.ModelDim);
            attention = new SelfAttention(config.ModelDim, config.Heads, config.Dropout, generator);
            feedForwardNorm = nn.LayerNorm(config.ModelDim);
            feedForwardIn = nn.Linear(config.ModelDim, config.FeedForwardDim);
            feedForwardOut = nn.Linear(config.FeedForwardDim, config.ModelDim);
            SeededInit.Linear(feedForwardIn, generator);
            SeededInit.Linear(feedForwardOut, generator);
            dropout = new SeededDropout(config.Dropout);
            register_module("attention_norm", attentionNorm);
            register_module("attention", attention);
            register_module("feed_forward_norm", feedForwardNorm);
            register_module("feed_forward_in", feedForwardIn);
            register_module("feed_forward_out", feedForwardOut);
            register_module("dropout", dropout);
        }

        /// <summary>Children are registered by name above (see <see cref="TextClassifierModule"/>).</summary>
        protected override void RegisterComponents()
        {
        }

        public override Tensor forward(Tensor x, Tensor keyBias)
        {
            using var scope = NewDisposeScope();
            x = x.add(dropout.forward(attention.forward(attentionNorm.forward(x), keyBias)), TorchScalars.One);
            var hidden = nn.functional.gelu(feedForwardIn.forward(feedForwardNorm.forward(x)));
            x = x.add(dropout.forward(feedForwardOut.forward(dropout.forward(hidden))), TorchScalars.One);
            return x.MoveToOuterDisposeScope();
        }
    }
}
