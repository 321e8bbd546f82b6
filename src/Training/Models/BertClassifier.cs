using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>How <see cref="BertClassifier"/> turns the encoder's states into one vector per text.</summary>
public enum BertPooling
{
    /// <summary>The mean over real positions (what sentence-transformers models such as all-MiniLM-L6-v2 are trained for).</summary>
    Mean,

    /// <summary>The state of the first position, <c>[CLS]</c>.</summary>
    Cls,
}

/// <summary>Shape of <see cref="BertClassifier"/>: a BERT encoder's config (Hugging Face's <c>config.json</c> names in brackets) and the head.</summary>
public sealed record BertConfig : ModelConfig
{
    /// <summary>Width of every position's state [<c>hidden_size</c>].</summary>
    public int HiddenSize { get; init; } = 384;

    /// <summary>Encoder layers [<c>num_hidden_layers</c>].</summary>
    public int Layers { get; init; } = 6;

    /// <summary>Attention heads per layer; must divide <see cref="HiddenSize"/> [<c>num_attention_heads</c>].</summary>
    public int Heads { get; init; } = 12;

    /// <summary>Width of the feed-forward block [<c>intermediate_size</c>].</summary>
    public int IntermediateSize { get; init; } = 1536;

    /// <summary>Rows of the position embedding: the longest sequence the encoder accepts [<c>max_position_embeddings</c>].</summary>
    public int MaxPositions { get; init; } = 512;

    /// <summary>Rows of the token-type embedding [<c>type_vocab_size</c>]; every text here is one segment, type 0.</summary>
    public int TypeVocabularySize { get; init; } = 2;

    /// <summary>Epsilon of every LayerNorm [<c>layer_norm_eps</c>].</summary>
    public double LayerNormEpsilon { get; init; } = 1e-12;

    public BertPooling Pooling { get; init; } = BertPooling.Mean;

    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (HiddenSize is < 1 or > 8192)
        {
            errors.Add($"{nameof(HiddenSize)} must be between 1 and 8192");
        }

        if (Heads < 1 || HiddenSize % Math.Max(Heads, 1) != 0)
        {
            errors.Add($"{nameof(Heads)} must be positive and divide {nameof(HiddenSize)}");
        }

        if (Layers is < 1 or > 48)
        {
            errors.Add($"{nameof(Layers)} must be between 1 and 48");
        }

        if (IntermediateSize is < 1 or > 32768)
        {
            errors.Add($"{nameof(IntermediateSize)} must be between 1 and 32768");
        }

        if (MaxPositions is < 1 or > 65536)
        {
            errors.Add($"{nameof(MaxPositions)} must be between 1 and 65536");
        }

        if (TypeVocabularySize is < 1 or > 16)
        {
            errors.Add($"{nameof(TypeVocabularySize)} must be between 1 and 16");
        }

        if (!(LayerNormEpsilon > 0 && LayerNormEpsilon < 1e-2))
        {
            errors.Add($"{nameof(LayerNormEpsilon)} must be positive and below 0.01");
        }

        if (!Enum.IsDefined(Pooling))
        {
            errors.Add($"{nameof(Pooling)} must be mean or cls");
        }

        return errors;
    }
}

/// <summary>
/// A BERT encoder (post-LN, GELU with erf, the padding mask added to the attention scores) with a pooling step and
/// a linear head: the network that fine-tunes pretrained encoders such as all-MiniLM-L6-v2. Numerics follow Hugging
/// Face's <c>modeling_bert.py</c>; the names are this project's (see <c>BertCheckpointNames</c> for the mapping).
/// </summary>
/// <remarks>
/// State dict (ONNX in brackets):
/// <list type="bullet">
/// <item><c>embeddings.word.weight [vocabulary, hidden]</c> [Gather on input_ids]; <c>embeddings.position.weight
/// [max_positions, hidden]</c>, rows <c>0..seq-1</c> [Slice]; <c>embeddings.token_type.weight [types, hidden]</c>,
/// row 0 for every position (one segment) [Gather]; summed, then <c>embeddings.norm</c> [LayerNormalization]</item>
/// <item>per layer <c>i</c>: <c>x = attention_norm(x + attention(x))</c>, then
/// <c>x = feed_forward_norm(x + feed_forward_out(gelu(feed_forward_in(x))))</c>, with
/// <c>layers.i.attention.{query,key,value,output}</c> as in <see cref="SelfAttention"/>,
/// <c>layers.i.feed_forward_in.{weight [intermediate, hidden], bias}</c>,
/// <c>layers.i.feed_forward_out.{weight [hidden, intermediate], bias}</c>, and the two norms' weight and bias</item>
/// <item>pooling (masked mean, or the first position), then <c>classifier.{weight [labels, hidden], bias}</c> [Gemm]</item>
/// </list>
/// Dropout (after the embeddings, on attention probabilities, after each block's projection, and before the head)
/// acts only in training.
/// </remarks>
public sealed class BertClassifier : TextClassifierModule
{
    private readonly BertEmbeddings embeddings;
    private readonly ModuleList<BertLayer> layers;
    private readonly Linear classifier;
    private readonly SeededDropout dropout;

    /// <param name="config">The shape.</param>
    /// <param name="generator">Where the initial weights come from (the training run's); <see langword="null"/> for torch's default.</param>
    public BertClassifier(BertConfig config, Generator? generator = null)
        : base(nameof(BertClassifier))
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = config.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid BERT configuration: {string.Join("; ", errors)}", nameof(config));
        }

        Config = config;
        embeddings = new BertEmbeddings(config, generator);
        layers = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new BertLayer(config, generator)).ToArray());
        classifier = nn.Linear(config.HiddenSize, config.LabelCount);
        SeededInit.Linear(classifier, generator);
        dropout = new SeededDropout(config.Dropout);
        register_module("embeddings", embeddings);
        register_module("layers", layers);
        register_module("classifier", classifier);
        register_module("dropout", dropout);
    }

    public override ModelConfig Config { get; }

    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        return Classify(Pool(inputIds, attentionMask)).MoveToOuterDisposeScope();
    }

    /// <summary>One vector per text, <c>[batch, hidden]</c>: the encoder's states pooled as the config says.</summary>
    public Tensor Pool(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var states = Encode(inputIds, attentionMask);
        var pooled = ((BertConfig)Config).Pooling == BertPooling.Cls
            ? states.select(1, 0)
            : MaskedMean(states, attentionMask);
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>The head: dropout (in training) and the linear layer over pooled vectors, <c>[batch, labels]</c>.</summary>
    public Tensor Classify(Tensor pooled) => classifier.forward(dropout.forward(pooled));

    /// <summary>The last layer's states, <c>[batch, seq, hidden]</c> (Hugging Face's <c>last_hidden_state</c>).</summary>
    public Tensor Encode(Tensor inputIds, Tensor attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var scope = NewDisposeScope();
        long length = inputIds.shape[1];
        if (length > ((BertConfig)Config).MaxPositions)
        {
            throw new ArgumentException($"The sequence has {length} positions; the encoder takes at most {((BertConfig)Config).MaxPositions}.", nameof(inputIds));
        }

        var x = dropout.forward(embeddings.forward(inputIds));
        var keyBias = SelfAttention.KeyBias(attentionMask, x.dtype);
        foreach (var layer in layers)
        {
            x = layer.forward(x, keyBias);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Trains only the top <paramref name="trainableLayers"/> encoder layers (and the head): the embeddings and the
    /// layers below stop collecting gradients. All of them when it is at least the layer count; the head alone at 0.
    /// </summary>
    public void FreezeBelowTopLayers(int trainableLayers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainableLayers);
        int layerCount = ((BertConfig)Config).Layers;
        int firstTrained = Math.Max(0, layerCount - trainableLayers);
        foreach (var (name, parameter) in named_parameters())
        {
            bool trained = name.StartsWith("classifier.", StringComparison.Ordinal)
                || (name.StartsWith("layers.", StringComparison.Ordinal) && LayerIndex(name) >= firstTrained)
                || (name.StartsWith("embeddings.", StringComparison.Ordinal) && firstTrained == 0);
            parameter.requires_grad = trained;
        }
    }

    private static int LayerIndex(string name)
    {
        int start = "layers.".Length;
        int end = name.IndexOf('.', start);
        return int.Parse(name.AsSpan(start, end - start), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Word, position and token-type embeddings, summed and normalised.</summary>
    private sealed class BertEmbeddings : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding word;
        private readonly Embedding position;
        private readonly Embedding tokenType;
        private readonly LayerNorm norm;

        public BertEmbeddings(BertConfig config, Generator? generator)
            : base(nameof(BertEmbeddings))
        {
            word = nn.Embedding(config.VocabularySize, config.HiddenSize);
            position = nn.Embedding(config.MaxPositions, config.HiddenSize);
            tokenType = nn.Embedding(config.TypeVocabularySize, config.HiddenSize);
            // BERT's initialisation, N(0, 0.02²); a pretrained encoder's weights replace these.
            SeededInit.Normal(word, 0.02, generator);
            SeededInit.Normal(position, 0.02, generator);
            SeededInit.Normal(tokenType, 0.02, generator);
            norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEpsilon);
            register_module("word", word);
            register_module("position", position);
            register_module("token_type", tokenType);
            register_module("norm", norm);
        }

        /// <summary>Children are registered by name above (see <see cref="TextClassifierModule"/>).</summary>
        protected override void RegisterComponents()
        {
        }

        public override Tensor forward(Tensor inputIds)
        {
            using var scope = NewDisposeScope();
            var positions = arange(inputIds.shape[1], dtype: int64, device: inputIds.device);
            // Every text is one segment: token type 0 at every position.
            var summed = word.forward(inputIds).add(position.forward(positions), TorchScalars.One).add(tokenType.weight![0], TorchScalars.One);
            return norm.forward(summed).MoveToOuterDisposeScope();
        }
    }

    /// <summary>One post-LN encoder layer, as BERT's.</summary>
    private sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly SelfAttention attention;
        private readonly LayerNorm attentionNorm;
        private readonly Linear feedForwardIn;
        private readonly Linear feedForwardOut;
        private readonly LayerNorm feedForwardNorm;
        private readonly SeededDropout dropout;

        public BertLayer(BertConfig config, Generator? generator)
            : base(nameof(BertLayer))
        {
            attention = new SelfAttention(config.HiddenSize, config.Heads, config.Dropout, generator);
            attentionNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEpsilon);
            feedForwardIn = nn.Linear(config.HiddenSize, config.IntermediateSize);
            feedForwardOut = nn.Linear(config.IntermediateSize, config.HiddenSize);
            SeededInit.Linear(feedForwardIn, generator);
            SeededInit.Linear(feedForwardOut, generator);
            feedForwardNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEpsilon);
            dropout = new SeededDropout(config.Dropout);
            register_module("attention", attention);
            register_module("attention_norm", attentionNorm);
            register_module("feed_forward_in", feedForwardIn);
            register_module("feed_forward_out", feedForwardOut);
            register_module("feed_forward_norm", feedForwardNorm);
            register_module("dropout", dropout);
        }

        /// <summary>Children are registered by name above (see <see cref="TextClassifierModule"/>).</summary>
        protected override void RegisterComponents()
        {
        }

        public override Tensor forward(Tensor x, Tensor keyBias)
        {
            using var scope = NewDisposeScope();
            x = attentionNorm.forward(x.add(dropout.forward(attention.forward(x, keyBias)), TorchScalars.One));
            var hidden = nn.functional.gelu(feedForwardIn.forward(x));
            x = feedForwardNorm.forward(x.add(dropout.forward(feedForwardOut.forward(hidden)), TorchScalars.One));
            return x.MoveToOuterDisposeScope();
        }
    }
}
