using System.Text.Json;
using TextClassification.Training.Data.Augmentation;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Tests.Data;

public sealed class TextAugmentationTests
{
    private static readonly string[] Texts =
    [
        "what is the balance of my checking account",
        "please transfer fifty dollars to my savings",
        "play something relaxing",
        "hi",
        "I lost my credit card yesterday at the station",
        "will it rain in Paris tomorrow morning",
    ];

    private static readonly AugmentationSettings Everything = new() { WordDeletion = 0.2, WordSwap = 0.2, WordInsertion = 0.2, Typos = 0.2, Copies = 3 };

    [Fact]
    public void The_same_seed_and_epoch_give_identical_variants_and_another_seed_or_epoch_gives_others()
    {
        var first = TextAugmentation.ForEpoch(Texts, Everything, seed: 7, epoch: 0);
        var again = TextAugmentation.ForEpoch(Texts, Everything, seed: 7, epoch: 0);
        var otherSeed = TextAugmentation.ForEpoch(Texts, Everything, seed: 8, epoch: 0);
        var otherEpoch = TextAugmentation.ForEpoch(Texts, Everything, seed: 7, epoch: 1);

        Assert.Equal(first, again);
        Assert.NotEqual(first, otherSeed);
        Assert.NotEqual(first, otherEpoch);
    }

    [Fact]
    public void An_epoch_has_copies_variants_per_text_in_copy_major_order()
    {
        var settings = new AugmentationSettings { Typos = 0.5, Copies = 3 };

        var variants = TextAugmentation.ForEpoch(Texts, settings, seed: 1, epoch: 0);

        Assert.Equal(Texts.Length * 3, variants.Length);
        // "hi" is too short for a typo, so each of its copies (copy c of text r at c * N + r) is the text itself.
        int hi = Array.IndexOf(Texts, "hi");
        Assert.All(Enumerable.Range(0, 3), copy => Assert.Equal("hi", variants[copy * Texts.Length + hi]));
        // Every variant comes from its own original: it shares most of its words.
        for (int i = 0; i < variants.Length; i++)
        {
            var original = Texts[i % Texts.Length].Split(' ');
            Assert.True(variants[i].Split(' ').Count(original.Contains) >= original.Length / 2, $"{variants[i]} <- {Texts[i % Texts.Length]}");
        }
    }

    [Fact]
    public void Word_deletion_only_drops_words_and_never_empties_a_text()
    {
        var settings = new AugmentationSettings { WordDeletion = 0.95 };
        var random = new Random(3);

        foreach (string text in Enumerable.Repeat(Texts, 50).SelectMany(t => t))
        {
            string variant = TextAugmentation.Variant(text, settings, random);
            var words = variant.Split(' ');
            Assert.NotEmpty(variant);
            Assert.True(IsSubsequence(words, text.Split(' ')), $"{variant} <- {text}");
        }

        // At 0.95 almost every word goes: the texts really were cut down.
        Assert.Single(TextAugmentation.Variant(Texts[0], settings, new Random(5)).Split(' '));
    }

    [Fact]
    public void Word_swap_keeps_exactly_the_same_words()
    {
        var settings = new AugmentationSettings { WordSwap = 0.5 };
        var random = new Random(4);
        int reordered = 0;

        foreach (string text in Enumerable.Repeat(Texts, 20).SelectMany(t => t))
        {
            string variant = TextAugmentation.Variant(text, settings, random);
            Assert.Equal(text.Split(' ').Order(StringComparer.Ordinal), variant.Split(' ').Order(StringComparer.Ordinal));
            reordered += variant == text ? 0 : 1;
        }

        Assert.True(reordered > 50, $"only {reordered} of 120 texts were reordered");
    }

    [Fact]
    public void Word_insertion_adds_only_words_of_the_same_text_and_keeps_the_original_order()
    {
        var settings = new AugmentationSettings { WordInsertion = 0.5 };
        var random = new Random(5);
        int grown = 0;

        foreach (string text in Enumerable.Repeat(Texts, 20).SelectMany(t => t))
        {
            var original = text.Split(' ');
            var words = TextAugmentation.Variant(text, settings, random).Split(' ');
            Assert.All(words, word => Assert.Contains(word, original));
            Assert.True(IsSubsequence(original, words));
            grown += words.Length > original.Length ? 1 : 0;
        }

        Assert.True(grown > 60, $"only {grown} of 120 texts grew");
    }

    [Fact]
    public void Typos_change_one_character_of_a_word_at_most_in_one_of_four_ways_and_leave_short_words_alone()
    {
        var settings = new AugmentationSettings { Typos = 0.9 };
        var random = new Random(6);
        var kinds = new HashSet<string>();

        foreach (string text in Enumerable.Repeat(Texts, 30).SelectMany(t => t))
        {
            var original = text.Split(' ');
            var words = TextAugmentation.Variant(text, settings, random).Split(' ');
            Assert.Equal(original.Length, words.Length);
            for (int i = 0; i < words.Length; i++)
            {
                if (original[i].Length < TextAugmentation.MinTypoWordLength)
                {
                    Assert.Equal(original[i], words[i]);
                }
                else if (words[i] != original[i])
                {
                    kinds.Add(TypoKind(original[i], words[i]));
                }
            }
        }

        Assert.Equal(["doubled", "dropped", "neighbouring key", "transposed"], kinds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Without_a_technique_on_every_text_comes_back_unchanged()
    {
        var off = new AugmentationSettings { Copies = 2 };

        Assert.False(off.Enabled);
        Assert.Equal([.. Texts, .. Texts], TextAugmentation.ForEpoch(Texts, off, seed: 1, epoch: 0));
        // A variant no draw changed is the text as it was, spacing included (one word cannot be swapped).
        Assert.Equal("  hello ", TextAugmentation.Variant("  hello ", new AugmentationSettings { WordSwap = 0.9 }, new Random(1)));
    }

    [Fact]
    public void Settings_out_of_range_or_unknown_are_reported_by_their_serialised_names()
    {
        var settings = JsonSerializer.Deserialize<AugmentationSettings>(
            """{"copies": 0, "word_deletion": 1, "word_swap": -0.1, "word_insertion": 0.1, "typos": 2, "paraphrase": 0.3}""")!;

        var errors = new Hyperparameters { Augmentation = settings }.Validate();

        Assert.Equal(
            ["augmentation.paraphrase", "augmentation.copies", "augmentation.word_deletion", "augmentation.word_swap", "augmentation.typos"],
            errors.Select(e => e.Field));
        Assert.Contains("word_deletion, word_swap", errors[0].Message);
    }

    [Fact]
    public void A_frozen_encoder_refuses_augmentation_but_not_an_augmentation_with_no_technique_on()
    {
        var frozen = new Hyperparameters { TrainLayers = 0 };

        Assert.Equal(["augmentation"], (frozen with { Augmentation = new AugmentationSettings { Typos = 0.1 } }).Validate().Select(e => e.Field));
        Assert.Empty((frozen with { Augmentation = new AugmentationSettings() }).Validate());
    }

    [Fact]
    public void Augmentation_round_trips_in_snake_case_and_an_override_replaces_the_default_whole()
    {
        var defaults = new Hyperparameters { Augmentation = new AugmentationSettings { WordDeletion = 0.1, Typos = 0.05 } };
        var overrides = JsonSerializer.Deserialize<HyperparameterOverrides>("""{"augmentation": {"word_swap": 0.2, "copies": 2}}""")!;
        var off = JsonSerializer.Deserialize<HyperparameterOverrides>("""{"augmentation": {}}""")!;

        var resolved = overrides.ApplyTo(defaults);
        string json = JsonSerializer.Serialize(resolved, TrainingJson.Options);

        Assert.Equal(new AugmentationSettings { WordSwap = 0.2, Copies = 2 }, resolved.Augmentation);
        Assert.Contains("\"augmentation\":{\"copies\":2,\"word_deletion\":0,\"word_swap\":0.2,\"word_insertion\":0,\"typos\":0}", json);
        Assert.Equal(resolved, JsonSerializer.Deserialize<Hyperparameters>(json, TrainingJson.Options));
        Assert.False(off.ApplyTo(defaults).Augmentation!.Enabled);
        Assert.Equal(defaults.Augmentation, new HyperparameterOverrides().ApplyTo(defaults).Augmentation);
    }

    private static bool IsSubsequence(IReadOnlyList<string> part, IReadOnlyList<string> whole)
    {
        int at = 0;
        foreach (string word in whole)
        {
            if (at < part.Count && part[at] == word)
            {
                at++;
            }
        }

        return at == part.Count;
    }

    private static string TypoKind(string original, string typo)
    {
        if (typo.Length == original.Length + 1)
        {
            return "doubled";
        }

        if (typo.Length == original.Length - 1)
        {
            return "dropped";
        }

        var differ = Enumerable.Range(0, original.Length).Where(i => original[i] != typo[i]).ToArray();
        if (differ.Length == 2 && differ[1] == differ[0] + 1 && original[differ[0]] == typo[differ[1]] && original[differ[1]] == typo[differ[0]])
        {
            return "transposed";
        }

        Assert.Single(differ);
        return "neighbouring key";
    }
}
