using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Models;

[Collection(TorchCollection.Name)]
public sealed class ModelTests
{
    private static readonly NGramBagConfig Bag = new() { VocabularySize = 50, LabelCount = 3, EmbeddingDim = 8, HiddenDim = 6, Dropout = 0.1 };
    private static readonly TransformerConfig Encoder = new() { VocabularySize = 50, LabelCount = 3, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 16, MaxPositions = 12, Dropout = 0.1 };

    private const string MeanPooledBag = "ngram-bag, mean pooling";

    public static TheoryData<string> Architectures => [ArchitectureRegistry.NGramBag, MeanPooledBag, ArchitectureRegistry.Transformer];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Ids_and_mask_give_float_logits_per_label(string architecture)
    {
        using var model = Create(architecture);
        using var ids = tensor(new long[] { 2, 5, 7, 0, 3, 4, 0, 0 }, [2, 4]);
        using var mask = tensor(new long[] { 1, 1, 1, 0, 1, 1, 0, 0 }, [2, 4]);

        using var logits = model.forward(ids, mask);

        Assert.Equal([2L, 3L], logits.shape);
        Assert.Equal(ScalarType.Float32, logits.dtype);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Padding_does_not_change_a_row_s_logits(string architecture)
    {
        using var model = Create(architecture);
        model.eval();
        using var ids = tensor(new long[] { 2, 5, 7 }, [1, 3]);
        using var mask = ones(1, 3, dtype: ScalarType.Int64);
        // Padding ids are arbitrary on purpose: the mask alone must hide them.
        using var paddedIds = tensor(new long[] { 2, 5, 7, 9, 9, 9 }, [1, 6]);
        using var paddedMask = tensor(new long[] { 1, 1, 1, 0, 0, 0 }, [1, 6]);

        using var plain = model.forward(ids, mask);
        using var padded = model.forward(paddedIds, paddedMask);

        Assert.True(plain.allclose(padded, rtol: 1e-5, atol: 1e-6), $"{plain.ToString(TorchSharp.TensorStringStyle.Julia)} vs {padded.ToString(TorchSharp.TensorStringStyle.Julia)}");
    }

    [Fact]
    public void State_dict_names_are_the_documented_ones()
    {
        using var bag = Create(ArchitectureRegistry.NGramBag);
        using var encoder = Create(ArchitectureRegistry.Transformer);

        Assert.Equal(
            ["embedding.weight", "hidden.weight", "hidden.bias", "classifier.weight", "classifier.bias"],
            bag.state_dict().Keys);
        var names = encoder.state_dict().Keys.ToList();
        Assert.Equal(["token_embedding.weight", "position_embedding.weight"], names.Take(2));
        Assert.Equal(
            [
                "layers.0.attention_norm.weight", "layers.0.attention_norm.bias",
                "layers.0.attention.query.weight", "layers.0.attention.query.bias",
                "layers.0.attention.key.weight", "layers.0.attention.key.bias",
                "layers.0.attention.value.weight", "layers.0.attention.value.bias",
                "layers.0.attention.output.weight", "layers.0.attention.output.bias",
                "layers.0.feed_forward_norm.weight", "layers.0.feed_forward_norm.bias",
                "layers.0.feed_forward_in.weight", "layers.0.feed_forward_in.bias",
                "layers.0.feed_forward_out.weight", "layers.0.feed_forward_out.bias",
            ],
            names.Skip(2).Take(16));
        Assert.Equal(["final_norm.weight", "final_norm.bias", "classifier.weight", "classifier.bias"], names.TakeLast(4));
        Assert.Equal(2 + 16 * 2 + 4, names.Count);
    }

    [Fact]
    public void Transformer_attention_matches_a_direct_computation_for_one_layer()
    {
        // One layer, one head, no dropout: recompute the documented formula from the weights by hand.
        var config = Encoder with { Layers = 1, Heads = 1, Dropout = 0 };
        using var model = new TransformerClassifier(config);
        model.eval();
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 3, 8, 0 }, [1, 3]);
        var mask = tensor(new long[] { 1, 1, 0 }, [1, 3]);
        var w = model.state_dict();

        var x = w["token_embedding.weight"].index_select(0, ids[0]) + w["position_embedding.weight"][..3];
        var h = nn.functional.layer_norm(x, [8], w["layers.0.attention_norm.weight"], w["layers.0.attention_norm.bias"], 1e-5);
        var q = h.matmul(w["layers.0.attention.query.weight"].t()) + w["layers.0.attention.query.bias"];
        var k = h.matmul(w["layers.0.attention.key.weight"].t()) + w["layers.0.attention.key.bias"];
        var v = h.matmul(w["layers.0.attention.value.weight"].t()) + w["layers.0.attention.value.bias"];
        var scores = q.matmul(k.t()) / Math.Sqrt(8) + tensor(new float[] { 0, 0, -1e9f });
        var attended = nn.functional.softmax(scores, -1).matmul(v).matmul(w["layers.0.attention.output.weight"].t()) + w["layers.0.attention.output.bias"];
        x = x + attended;
        var f = nn.functional.layer_norm(x, [8], w["layers.0.feed_forward_norm.weight"], w["layers.0.feed_forward_norm.bias"], 1e-5);
        f = nn.functional.gelu(f.matmul(w["layers.0.feed_forward_in.weight"].t()) + w["layers.0.feed_forward_in.bias"]);
        x = x + f.matmul(w["layers.0.feed_forward_out.weight"].t()) + w["layers.0.feed_forward_out.bias"];
        x = nn.functional.layer_norm(x, [8], w["final_norm.weight"], w["final_norm.bias"], 1e-5);
        var pooled = x[..2].mean([0]);
        var expected = pooled.matmul(w["classifier.weight"].t()) + w["classifier.bias"];

        var actual = model.forward(ids, mask)[0];

        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"{actual.ToString(TorchSharp.TensorStringStyle.Julia)} vs {expected.ToString(TorchSharp.TensorStringStyle.Julia)}");
    }

    [Fact]
    public void The_registry_resolves_sizes_and_refuses_unknown_names_and_foreign_shapes()
    {
        var transformer = ArchitectureRegistry.Get(ArchitectureRegistry.Transformer);
        var hyperparameters = transformer.DefaultHyperparameters;

        var config = (TransformerConfig)transformer.ResolveConfig(null, vocabularySize: 1000, labelCount: 7, hyperparameters);

        Assert.Equal((1000, 7, hyperparameters.Dropout, hyperparameters.MaxSequenceLength), (config.VocabularySize, config.LabelCount, config.Dropout, config.MaxPositions));
        Assert.Throws<ArgumentException>(() => ArchitectureRegistry.Get("lstm"));
        Assert.Throws<ArgumentException>(() => transformer.ResolveConfig(new NGramBagConfig(), 1000, 7, hyperparameters));
        Assert.NotEmpty((Encoder with { Heads = 3 }).Validate());
    }

    private static TextClassifierModule Create(string architecture)
    {
        manual_seed(3);
        return architecture switch
        {
            ArchitectureRegistry.NGramBag => new NGramBagClassifier(Bag),
            MeanPooledBag => new NGramBagClassifier(Bag with { Pooling = NGramPooling.Mean }),
            _ => new TransformerClassifier(Encoder),
        };
    }
}
