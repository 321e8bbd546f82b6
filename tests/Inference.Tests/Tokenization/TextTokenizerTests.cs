using TextClassification.Inference.Tokenization;

namespace TextClassification.Inference.Tests.Tokenization;

public sealed class TextTokenizerTests
{
    private static readonly TokenizerSettings Bag = new()
    {
        MaxSequenceLength = 64,
        WordBigramBuckets = 100,
        CharNGrams = CharNGramMode.AllWords,
        CharNGramMin = 3,
        CharNGramMax = 4,
        CharNGramBuckets = 1000,
    };

    private static TextTokenizer Tokenizer(TokenizerSettings settings, params string[] vocabulary) =>
        new(new TokenizerDefinition(settings, vocabulary));

    [Theory]
    [InlineData("Hello, WORLD!", new[] { "hello", ",", "world", "!" })]
    [InlineData("what's the  weather\tlike?", new[] { "what's", "the", "weather", "like", "?" })]
    [InlineData("what’s up", new[] { "what's", "up" })]
    [InlineData("ＡＢＣ ﬁne", new[] { "abc", "fine" })]
    [InlineData("book a flight to 北京 tomorrow", new[] { "book", "a", "flight", "to", "北", "京", "tomorrow" })]
    [InlineData("我想订机票", new[] { "我", "想", "订", "机", "票" })]
    [InlineData("カタカナとひらがな", new[] { "カ", "タ", "カ", "ナ", "と", "ひ", "ら", "が", "な" })]
    [InlineData("I ❤️ pizza 👍", new[] { "i", "❤", "pizza", "👍" })]
    [InlineData("ما هو رصيد حسابي؟", new[] { "ما", "هو", "رصيد", "حسابي", "؟" })]
    [InlineData("Größe 5pm -- ok", new[] { "größe", "5pm", "-", "-", "ok" })]
    [InlineData("", new string[0])]
    public void Text_is_normalized_case_folded_and_split_by_unicode_category(string text, string[] words)
    {
        Assert.Equal(words, Tokenizer(new TokenizerSettings()).Segment(text));
    }

    [Fact]
    public void Thai_is_split_per_character_keeping_combining_marks_with_their_base()
    {
        // "ที่นี่" is THO THAHAN and NO NU, each followed by SARA II and MAI EK (combining marks); "ภาษา" has SARA AA,
        // a letter of its own.
        Assert.Equal(["ที่", "นี่"], Tokenizer(new TokenizerSettings()).Segment("ที่นี่"));
        Assert.Equal(["ภ", "า", "ษ", "า"], Tokenizer(new TokenizerSettings()).Segment("ภาษา"));
    }

    [Fact]
    public void Known_words_get_their_vocabulary_ids_and_unknown_words_the_unknown_id()
    {
        var tokenizer = Tokenizer(new TokenizerSettings(), "the", "weather");

        Assert.Equal([2L, 3L, 1L], tokenizer.Encode("The WEATHER today"));
    }

    [Fact]
    public void Bag_settings_add_word_pairs_and_character_n_grams_after_each_word_within_their_id_ranges()
    {
        var tokenizer = Tokenizer(Bag, "hi", "there");
        var ids = tokenizer.Encode("hi there");

        // "hi": id, then n-grams of "<hi>" (3-grams "<hi", "hi>"; 4-gram "<hi>").
        // "there": id, the pair (hi, there), then n-grams of "<there>" (5 three-grams, 4 four-grams).
        Assert.Equal(1 + 3 + 1 + 1 + 9, ids.Length);
        Assert.Equal(2, ids[0]);
        Assert.Equal(3, ids[4]);
        long bigramStart = TextTokenizer.FirstWordId + 2;
        long nGramStart = bigramStart + Bag.WordBigramBuckets;
        Assert.InRange(ids[5], bigramStart, nGramStart - 1);
        Assert.All(ids[1..4].Concat(ids[6..]), id => Assert.InRange(id, nGramStart, nGramStart + Bag.CharNGramBuckets - 1));
        Assert.Equal(nGramStart + Bag.CharNGramBuckets, tokenizer.VocabularySize);
    }

    [Fact]
    public void A_typo_shares_most_character_n_grams_with_the_word_it_misspells()
    {
        var tokenizer = Tokenizer(Bag with { CharNGramBuckets = 100_000 }, "password");

        var right = tokenizer.Encode("password").Skip(1).ToHashSet();
        var typo = tokenizer.Encode("pasword").ToHashSet();

        Assert.DoesNotContain(2L, typo);
        Assert.True(right.Intersect(typo).Count() >= 6, "\"pasword\" should keep most n-grams of \"password\"");
    }

    [Fact]
    public void Unknown_words_mode_replaces_only_unknown_words_by_their_n_grams()
    {
        var tokenizer = Tokenizer(Bag with { WordBigramBuckets = 0, CharNGrams = CharNGramMode.UnknownWords }, "my", "password");

        var ids = tokenizer.Encode("my pasword");

        Assert.Equal(2, ids[0]);
        Assert.DoesNotContain(TextTokenizer.UnknownId, ids);
        // "my", then the n-grams of "<pasword>": seven 3-grams and six 4-grams.
        Assert.Equal(1 + 7 + 6, ids.Length);
        Assert.Equal([2L, 3L], tokenizer.Encode("my password"));
    }

    [Fact]
    public void Sequences_are_cut_at_the_maximum_length()
    {
        var tokenizer = Tokenizer(new TokenizerSettings { MaxSequenceLength = 3 }, "a");

        Assert.Equal([2L, 2L, 2L], tokenizer.Encode("a a a a a"));
        Span<long> wide = stackalloc long[10];
        Assert.Equal(3, tokenizer.Encode("a a a a a", wide));
        Assert.Equal(1, tokenizer.Encode("a a a", wide[..1]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n")]
    [InlineData("\u200D\uFE0F")]
    public void Text_without_words_encodes_as_one_unknown_id(string text)
    {
        Assert.Equal([TextTokenizer.UnknownId], Tokenizer(Bag, "a").Encode(text));
    }

    [Fact]
    public void Ill_formed_utf16_is_encoded_not_rejected()
    {
        var tokenizer = Tokenizer(new TokenizerSettings(), "ok");

        Assert.Equal([2L, 1L, 2L], tokenizer.Encode("ok \uD800 ok"));
    }

    [Fact]
    public void Long_texts_outside_the_stack_buffer_encode_like_short_ones()
    {
        var tokenizer = Tokenizer(new TokenizerSettings { MaxSequenceLength = 2000 }, "é");
        string text = string.Join(' ', Enumerable.Repeat("e\u0301", 1000)); // decomposed é: NFKC composes it

        var ids = tokenizer.Encode(text);

        Assert.Equal(1000, ids.Length);
        Assert.All(ids, id => Assert.Equal(2L, id));
    }

    [Fact]
    public void A_batch_is_padded_to_its_longest_row_with_a_matching_attention_mask()
    {
        var tokenizer = Tokenizer(new TokenizerSettings(), "a", "b", "c");

        var batch = tokenizer.EncodeBatch(["a b c", "b", "c a"]);

        Assert.Equal(3, batch.Count);
        Assert.Equal(3, batch.SequenceLength);
        Assert.Equal([2L, 3L, 4L, 3L, 0L, 0L, 4L, 2L, 0L], batch.InputIds.ToArray());
        Assert.Equal([1L, 1L, 1L, 1L, 0L, 0L, 1L, 1L, 0L], batch.AttentionMask.ToArray());
        Assert.Equal([3, 1, 2], batch.RowLengths.ToArray());
    }

    [Fact]
    public void A_reused_batch_is_refilled_without_stale_values()
    {
        var tokenizer = Tokenizer(new TokenizerSettings(), "a", "b");
        var batch = tokenizer.EncodeBatch(["a b a b", "a b a"]);

        var again = tokenizer.EncodeBatch(["b", "a b"], batch);

        Assert.Same(batch, again);
        Assert.Equal([3L, 0L, 2L, 3L], again.InputIds.ToArray());
        Assert.Equal([1L, 0L, 1L, 1L], again.AttentionMask.ToArray());
    }

    [Fact]
    public void Encoding_a_short_latin_text_into_a_span_allocates_nothing()
    {
        var tokenizer = Tokenizer(Bag, "how", "do", "i", "reset", "my", "password");
        long[] ids = new long[64];
        tokenizer.Encode("How do I reset my pasword?", ids);

        Assert.Equal(0, ThreadAllocations.Fewest(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                tokenizer.Encode("How do I reset my pasword?", ids);
                tokenizer.Encode("Wie setze ich mein Passwort zurück?", ids);
            }
        }));
    }

    [Fact]
    public void Learning_keeps_words_seen_often_enough_most_frequent_first_ties_in_ordinal_order()
    {
        var definition = TokenizerDefinition.Learn(
            ["b a c", "a b d", "a e", "C"],
            new TokenizerSettings { MinCount = 2, MaxVocabularySize = 2 });

        Assert.Equal(["a", "b"], definition.Vocabulary);
        Assert.Equal(["a", "b", "c"], TokenizerDefinition.Learn(["b a c", "a b d", "a e", "C"], new TokenizerSettings { MinCount = 2 }).Vocabulary);
    }

    [Fact]
    public void Known_words_follow_the_learned_ones_in_their_order_without_repeats_while_the_vocabulary_has_room()
    {
        string[] texts = ["b a c", "a b d", "a e"];

        var definition = TokenizerDefinition.Learn(texts, new TokenizerSettings { MinCount = 2 }, ["refund", "a", "cash", "refund", "loan"]);
        var capped = TokenizerDefinition.Learn(texts, new TokenizerSettings { MinCount = 2, MaxVocabularySize = 3 }, ["refund", "cash"]);

        Assert.Equal(["a", "b", "refund", "cash", "loan"], definition.Vocabulary);
        Assert.Equal(["a", "b", "refund"], capped.Vocabulary);
        // A known word is a word like any other: its id is its place in the vocabulary.
        var tokenizer = new TextTokenizer(definition);
        Span<long> ids = stackalloc long[4];
        Assert.Equal(2, tokenizer.Encode("cash a", ids));
        Assert.Equal([TextTokenizer.FirstWordId + 3, TextTokenizer.FirstWordId], ids[..2].ToArray());
    }

    [Fact]
    public void A_definition_survives_a_json_round_trip()
    {
        var definition = TokenizerDefinition.Learn(["Hello there", "héllo 世界 👋"], Bag);

        var json = definition.ToJson();
        var read = TokenizerDefinition.FromJson(json);

        Assert.Equal(definition, read);
        Assert.Contains("\"char_n_grams\":\"all_words\"", json);
        Assert.Contains("世", json);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"format\":99,\"settings\":{},\"vocabulary\":[]}")]
    [InlineData("{\"format\":1}")]
    public void Unreadable_definitions_are_rejected_as_invalid_data(string json)
    {
        Assert.Throws<InvalidDataException>(() => TokenizerDefinition.FromJson(json));
    }

    [Fact]
    public void Settings_report_their_problems_by_field()
    {
        var errors = new TokenizerSettings { MaxSequenceLength = 0, CharNGrams = CharNGramMode.AllWords, CharNGramBuckets = 0, CharNGramMin = 4, CharNGramMax = 3 }.Validate();

        Assert.Equal(
            [nameof(TokenizerSettings.MaxSequenceLength), nameof(TokenizerSettings.CharNGramBuckets), nameof(TokenizerSettings.CharNGramMax)],
            errors.Select(e => e.Field));
        Assert.Empty(Bag.Validate());
    }
}
