using TextClassification.Training.Distillation;
using TextClassification.Training.Tests.Loop;

namespace TextClassification.Training.Tests.Distillation;

public sealed class TransferSetTests
{
    // Two clusters of synonyms on the plane, and tokens that are no candidates ("##s" pieces, single letters, specials).
    private static readonly string[] Vocabulary = ["[PAD]", "money", "cash", "funds", "dollars", "cancel", "stop", "end", "##s", "a", "[CLS]"];

    private static readonly float[] Vectors =
    [
        0, 0,
        1, 0.1f,
        1, 0.2f,
        1, 0.3f,
        0.9f, 0.5f,
        0.1f, 1,
        0.2f, 1,
        0.4f, 1,
        1, 0.1f,
        1, 0.1f,
        1, 0.1f,
    ];

    private static readonly WordNeighbours Neighbours = new(Vocabulary, Vectors, width: 2);

    private static readonly string[] Texts = ["Send money, please!", "cancel the cash transfer", "hello there"];

    [Fact]
    public void Neighbours_are_the_nearest_whole_words_by_cosine_nearest_first_and_never_the_word_itself()
    {
        Assert.Equal(["cash", "funds", "dollars", "end", "stop", "cancel"], Neighbours.Of("money"));
        Assert.Equal(["stop", "end", "dollars", "funds", "cash", "money"], Neighbours.Of("cancel"));
        Assert.True(Neighbours.Knows("cash"));
        Assert.False(Neighbours.Knows("##s"));
        Assert.False(Neighbours.Knows("a"));
        Assert.False(Neighbours.Knows("[CLS]"));
        Assert.Empty(Neighbours.Of("transfer"));
    }

    [Fact]
    public void The_same_seed_makes_the_same_set_and_another_seed_another()
    {
        var first = TransferSet.Generate(Texts, copies: 6, wordReplacement: 0.5, seed: 7, Neighbours);
        var again = TransferSet.Generate(Texts, copies: 6, wordReplacement: 0.5, seed: 7, Neighbours);
        var other = TransferSet.Generate(Texts, copies: 6, wordReplacement: 0.5, seed: 8, Neighbours);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.NotEmpty(first);
    }

    [Fact]
    public void Only_known_words_are_replaced_by_their_neighbours_and_everything_else_is_kept()
    {
        var variants = TransferSet.Generate(Texts, copies: 20, wordReplacement: 1.0, seed: 3, Neighbours);

        // With probability 1 every known word is replaced; unknown words, case of the rest and punctuation stay.
        Assert.All(variants, v => Assert.Matches(@"^(Send \w+, please!|\w+ the \w+ transfer)$", v));
        var sendVariants = variants.Where(v => v.StartsWith("Send ", StringComparison.Ordinal)).Select(v => v[5..v.IndexOf(',', StringComparison.Ordinal)]).ToHashSet();
        Assert.Subset(Neighbours.Of("money").ToHashSet(), sendVariants);
        Assert.DoesNotContain(variants, v => v.Contains("hello", StringComparison.Ordinal));
    }

    [Fact]
    public void A_variant_equal_to_a_text_or_an_earlier_variant_is_left_out()
    {
        var variants = TransferSet.Generate(["money", "cash"], copies: 32, wordReplacement: 0.5, seed: 1, Neighbours);

        // "money" has 6 neighbours, "cash" becomes one of its own 6 or stays; each distinct word appears once at most.
        Assert.Equal(variants.Count, variants.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain("money", variants);
        Assert.DoesNotContain("cash", variants);
        Assert.True(variants.Count <= 6, string.Join(", ", variants));
        Assert.Empty(TransferSet.Generate(Texts, copies: 0, wordReplacement: 0.5, seed: 1, Neighbours));
    }

    [Fact]
    public void The_identity_changes_with_every_setting_and_dataset()
    {
        string identity = TransferSet.Identity(["a1", "b2"], 4, 0.5, 42);

        Assert.Equal(64, identity.Length);
        Assert.Equal(identity, TransferSet.Identity(["a1", "b2"], 4, 0.5, 42));
        Assert.NotEqual(identity, TransferSet.Identity(["a1"], 4, 0.5, 42));
        Assert.NotEqual(identity, TransferSet.Identity(["a1", "b2"], 5, 0.5, 42));
        Assert.NotEqual(identity, TransferSet.Identity(["a1", "b2"], 4, 0.3, 42));
        Assert.NotEqual(identity, TransferSet.Identity(["a1", "b2"], 4, 0.5, 43));
    }
}

/// <summary>
/// MiniLM's table is 90 MB of ONNX read into memory: alone, so that tests measuring the process's live heap (the
/// streaming import) never see it.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MiniLmWordNeighboursTests
{
    [Fact]
    public void Neighbours_are_words_of_like_meaning()
    {
        var neighbours = new WordNeighbours();

        Assert.Equal(WordNeighbours.Count, neighbours.Of("money").Count);
        Assert.Contains(neighbours.Of("money"), w => w is "cash" or "funds" or "dollars");
        Assert.Contains(neighbours.Of("cancel"), w => w.StartsWith("cancel", StringComparison.Ordinal) || w is "terminate" or "postpone");
        Assert.DoesNotContain(neighbours.Of("money"), w => w.StartsWith("##", StringComparison.Ordinal));
    }
}
