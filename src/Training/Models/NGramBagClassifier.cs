using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>How <see cref="NGramBagClassifier"/> pools the vectors of a text.</summary>
public enum NGramPooling
{
    /// <summary>The mean over real positions.</summary>
    Mean,

    /// <summary>The mean and the element-wise maximum over real positions, concatenated (twice the width).</summary>
    MeanMax,
}

/// <summary>Shape of <see cref="NGramBagClassifier"/>.</summary>
public sealed record NGramBagConfig : ModelConfig
{
    /// <summary>Width of each id's vector.</summary>
    public int EmbeddingDim { get; init; } = 96;

    /// <summary>Width of the hidden layer between pooling and the classifier; 0 means none (a linear model over the bag).</summary>
    public int HiddenDim { get; init; }

    /// <summary>How the vectors of a text's ids become one.</summary>
    public NGramPooling Pooling { get; init; } = NGramPooling.MeanMax;

    /// <summary>
    /// Width of the pretrained word vectors the bag trains with (the encoder's hidden size); 0 (the default) for none.
    /// See <see cref="NGramBagClassifier"/>'s remarks.
    /// </summary>
    public int WordVectorWidth { get; init; }

    /// <summary>The ids that have a pretrained vector row (padding, unknown and the words): the rest are hashed buckets. 0 without word vectors.</summary>
    public int WordVectorRows { get; init; }

    public override IReadOnlyList<string> Validate()
    {
        var errors = base.Validate().ToList();
        if (!Enum.IsDefined(Pooling))
        {
            errors.Add($"{nameof(Pooling)} must be mean or mean_max");
        }

        if (EmbeddingDim is < 1 or > 4096)
        {
            errors.Add($"{nameof(EmbeddingDim)} must be between 1 and 4096");
        }

        if (HiddenDim is < 0 or > 16384)
        {
            errors.Add($"{nameof(HiddenDim)} must be between 0 and 16384");
        }

        if (WordVectorWidth is < 0 or > 4096)
        {
            errors.Add($"{nameof(WordVectorWidth)} must be between 0 and 4096");
        }

        if ((WordVectorWidth == 0) != (WordVectorRows == 0) || WordVectorRows < 0 || WordVectorRows > VocabularySize)
        {
            errors.Add($"{nameof(WordVectorRows)} must be 0 without word vectors, else between 1 and {nameof(VocabularySize)}");
        }

        return errors;
    }
}

/// <summary>
/// A fastText-like bag of n-grams: one vector per id (word, hashed word pair, hashed character n-gram), pooled over
/// the real positions (mean, and by default the element-wise max too), then an optional hidden layer and a linear
/// classifier. Order-free, so it suits the
/// tokenizer's <c>AllWords</c> n-gram mode. Fast: training cost is dominated by the embedding gradient.
/// </summary>
/// <remarks>
/// State dict, in forward order (ONNX in brackets):
/// <list type="bullet">
/// <item><c>embedding.weight [vocabulary, embedding_dim]</c> [Gather on input_ids, whose padding positions the graph
/// first gives their row's first id: Slice, Cast, Where]</item>
/// <item>masked mean over positions [ReduceSum over the positions, less the first vector once per padding position:
/// Slice, Squeeze, Mul, Sub; Div by the clamped count]; with <c>mean_max</c> pooling (the default) also the masked
/// maximum, <c>max over positions of (x + (1 − mask)·(−1e9))</c> [ReduceMax: a padding position holds a copy of a real
/// vector, which cannot change it], concatenated after the mean [Concat on the last axis]. See NGramBagOnnxGraph for
/// why the graph computes the same function in fewer passes.</item>
/// <item><c>hidden.weight [hidden_dim, pooled width]</c>, <c>hidden.bias [hidden_dim]</c>, then ReLU — only when
/// <c>hidden_dim &gt; 0</c> [Gemm, Relu]</item>
/// <item><c>classifier.weight [labels, features]</c>, <c>classifier.bias [labels]</c> [Gemm]; features is
/// <c>hidden_dim</c>, else the pooled width (<c>embedding_dim</c>, doubled by <c>mean_max</c>)</item>
/// </list>
/// Dropout (after pooling and after the hidden layer) only acts in training.
/// <para>
/// With pretrained word vectors (<see cref="NGramBagConfig.WordVectorWidth"/> &gt; 0) a word id's vector is its own
/// row plus a learned projection of the word's frozen pretrained vector: <c>embedding.weight[id] +
/// word_projection.weight · word_vectors.weight[id]</c> for ids below <see cref="NGramBagConfig.WordVectorRows"/>
/// (hashed ids have no pretrained vector, and nothing is added to theirs). The projection is shared by every word, so a word the training data never
/// had still lands where its pretrained neighbours taught the bag to look: its own row starts, and stays, at zero.
/// Fine-tuning the pretrained rows directly would not do that: the seen words' rows move and the unseen ones are left
/// behind where nothing reads them. The sum is the same function of the id as a single table, so the ONNX graph is the
/// plain bag's over that table (see <see cref="ExportState"/>) and serving costs what the plain bag costs.
/// </para>
/// </remarks>
public sealed class NGramBagClassifier : TextClassifierModule
{
    private readonly Embedding embedding;
    private readonly Embedding? wordVectors;
    private readonly Linear? wordProjection;
    // Ids below this are words with a vector; a field so that the scalar lives as long as the module (see TorchScalars).
    private readonly Scalar? wordVectorRows;
    private readonly Linear? hidden;
    private readonly Linear classifier;
    private readonly SeededDropout dropout;

    /// <param name="config">The shape.</param>
    /// <param name="generator">Where the initial weights come from (the training run's); <see langword="null"/> for torch's default.</param>
    public NGramBagClassifier(NGramBagConfig config, Generator? generator = null)
        : base(nameof(NGramBagClassifier))
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = config.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid n-gram bag configuration: {string.Join("; ", errors)}", nameof(config));
        }

        Config = config;
        embedding = nn.Embedding(config.VocabularySize, config.EmbeddingDim);
        // Near-zero starting vectors, as fastText's (it draws from ±1/dim), rather than nn.Embedding's N(0, 1).
        SeededInit.Normal(embedding, 0.05, generator);

        register_module("embedding", embedding);
        if (config.WordVectorWidth > 0)
        {
            wordVectors = nn.Embedding(config.WordVectorRows, config.WordVectorWidth);
            wordVectorRows = config.WordVectorRows.ToScalar();
            wordVectors.weight!.requires_grad_(false);
            using (no_grad())
            {
                wordVectors.weight!.zero_();
            }

            register_module("word_vectors", wordVectors);
            wordProjection = nn.Linear(config.WordVectorWidth, config.EmbeddingDim, hasBias: false);
            SeededInit.Linear(wordProjection, generator);
            register_module("word_projection", wordProjection);
        }

        int features = config.Pooling == NGramPooling.MeanMax ? 2 * config.EmbeddingDim : config.EmbeddingDim;
        if (config.HiddenDim > 0)
        {
            hidden = nn.Linear(features, config.HiddenDim);
            SeededInit.Linear(hidden, generator);
            register_module("hidden", hidden);
            features = config.HiddenDim;
        }

        classifier = nn.Linear(features, config.LabelCount);
        SeededInit.Linear(classifier, generator);
        register_module("classifier", classifier);
        dropout = new SeededDropout(config.Dropout);
        register_module("dropout", dropout);
    }

    public override ModelConfig Config { get; }

    /// <summary>
    /// Sets the frozen pretrained vectors (row-major <c>[WordVectorRows, WordVectorWidth]</c>, zero rows for ids without
    /// one) and zeroes the own rows of the ids that have one, so that such a word starts as its projected vector alone.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bag was built without word vectors.</exception>
    public void LoadWordVectors(float[] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (wordVectors is null)
        {
            throw new InvalidOperationException("This n-gram bag was built without word vectors.");
        }

        var config = (NGramBagConfig)Config;
        if (rows.Length != (long)config.WordVectorRows * config.WordVectorWidth)
        {
            throw new ArgumentException($"Expected {config.WordVectorRows} × {config.WordVectorWidth} values, got {rows.Length}.", nameof(rows));
        }

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            var weight = wordVectors.weight!;
            weight.copy_(tensor(rows, [config.WordVectorRows, config.WordVectorWidth]).to(weight.device));
            var hasVector = weight.abs().sum(1).gt(TorchScalars.Zero).unsqueeze(1);
            var own = embedding.weight!.narrow(0, 0, config.WordVectorRows);
            own.masked_fill_(hasVector, TorchScalars.Zero);
        }
    }

    /// <summary>
    /// The tensors the ONNX graph is written from: the state dict, with pretrained word vectors folded into
    /// <c>embedding.weight</c> (each word row plus its projected vector) and their own entries left out.
    /// </summary>
    public override IReadOnlyDictionary<string, Tensor> ExportState()
    {
        var state = state_dict();
        if (wordVectors is null)
        {
            return state;
        }

        var config = (NGramBagConfig)Config;
        var folded = new Dictionary<string, Tensor>(state.Where(p => !p.Key.StartsWith("word_", StringComparison.Ordinal)));
        using (no_grad())
        {
            var table = embedding.weight!.detach().clone();
            using var projected = wordProjection!.forward(wordVectors.weight!);
            using var wordRows = table.narrow(0, 0, config.WordVectorRows);
            wordRows.add_(projected, TorchScalars.One);
            folded["embedding.weight"] = table;
        }

        return folded;
    }

    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var states = embedding.forward(inputIds);
        if (wordVectors is not null)
        {
            // Only word positions (about one in ten: a word brings its pair and character n-grams, which have no
            // vector) are projected and added, which keeps a training step close to the plain bag's.
            long width = states.shape[2];
            var flatIds = inputIds.flatten();
            var positions = flatIds.lt(wordVectorRows!).nonzero().squeeze(1);
            var projected = wordProjection!.forward(wordVectors.forward(flatIds.index_select(0, positions)));
            states = states.view(-1, width).index_add(0, positions, projected, TorchScalars.One).view(states.shape);
        }

        var pooled = MaskedMean(states, attentionMask);
        if (((NGramBagConfig)Config).Pooling == NGramPooling.MeanMax)
        {
            // Padding positions get −1e9 so they never win the maximum; every row has a real position.
            var padding = TorchScalars.OneMinus(attentionMask.to_type(states.dtype)).mul(TorchScalars.MaskedScore).unsqueeze(-1);
            pooled = cat([pooled, states.add(padding, TorchScalars.One).amax(1)], 1);
        }

        var features = dropout.forward(pooled);
        if (hidden is not null)
        {
            features = dropout.forward(nn.functional.relu(hidden.forward(features)));
        }

        return classifier.forward(features).MoveToOuterDisposeScope();
    }
}
