using System.Text;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tests.Support;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Inference.Tests.Tokenization;

/// <summary>
/// WordPiece against all-MiniLM-L6-v2's vocab.txt, which is bert-base-uncased's: the expected ids are
/// bert-base-uncased's published ones, or the lines of that vocab.txt for the pieces BERT's algorithm picks.
/// </summary>
public sealed class WordPieceTokenizerTests
{
    private const long Cls = 101;
    private const long Sep = 102;
    private const long Unk = 100;

    private static readonly TokenizerSettings Uncased = new() { Kind = TokenizerKind.WordPiece, MaxSequenceLength = 128 };

    private static readonly Lazy<IReadOnlyList<string>> MiniLmVocabulary = new(() =>
    {
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "base-models", "minilm-l6", "vocab.txt"));
        return TokenizerDefinition.ReadVocabulary(stream);
    });

    private static readonly Lazy<TextTokenizer> MiniLm = new(() => new TextTokenizer(TokenizerDefinition.WordPiece(MiniLmVocabulary.Value, Uncased)));

    private static TextTokenizer Tokenizer(TokenizerSettings settings) => new(TokenizerDefinition.WordPiece(MiniLmVocabulary.Value, settings));

    private static TextTokenizer Toy(TokenizerSettings settings, params string[] words) =>
        new(TokenizerDefinition.WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]", .. words], settings));

    private static readonly Lazy<Dictionary<string, int>> MiniLmIds = new(() =>
        MiniLmVocabulary.Value.Select((piece, id) => (piece, id)).ToDictionary(pair => pair.piece, pair => pair.id, StringComparer.Ordinal));

    private static long Id(string piece)
    {
        Assert.True(MiniLmIds.Value.TryGetValue(piece, out int id), $"\"{piece}\" is not in the vocabulary");
        return id;
    }

    private static void AssertEncodes(string text, string[] pieces)
    {
        Assert.Equal(pieces, MiniLm.Value.Segment(text));
        Assert.Equal([Cls, .. pieces.Select(Id), Sep], MiniLm.Value.Encode(text));
    }

    [Fact]
    public void The_minilm_vocabulary_is_bert_base_uncased_in_line_order()
    {
        var vocabulary = MiniLmVocabulary.Value;

        Assert.Equal(30_522, vocabulary.Count);
        Assert.Equal(30_522, MiniLm.Value.VocabularySize);
        Assert.Equal(new WordPieceSpecialIds(0, Unk, Cls, Sep), MiniLm.Value.SpecialIds);
        Assert.Equal(("[MASK]", "the", "##s"), (vocabulary[103], vocabulary[1996], vocabulary[2015]));
    }

    [Fact]
    public void A_sentence_gets_the_published_bert_base_uncased_ids()
    {
        Assert.Equal([101L, 7592, 1010, 2026, 3899, 2003, 10140, 102], MiniLm.Value.Encode("Hello, my dog is cute"));
    }

    [Fact]
    public void A_word_outside_the_vocabulary_is_split_greedily_longest_match_first_into_continuations()
    {
        // "una" is in bert-base-uncased's vocabulary, so the longest first piece is "una", not "un".
        AssertEncodes("unaffable", ["una", "##ffa", "##ble"]);
        AssertEncodes("Abcd", ["abc", "##d"]);

        // Google's README example, with a vocabulary that has only the pieces it names.
        var toy = Toy(Uncased, "un", "##aff", "##able", "##a");
        Assert.Equal(["un", "##aff", "##able"], toy.Segment("unaffable"));
        Assert.Equal([2L, 4, 5, 6, 3], toy.Encode("unaffable"));
    }

    [Fact]
    public void Uncased_text_is_lower_cased_and_stripped_of_accents()
    {
        AssertEncodes("Café déjà vu", ["cafe", "de", "##ja", "vu"]);
        AssertEncodes("İSTANBUL", ["istanbul"]);
        AssertEncodes("e\u0301", ["e"]);
    }

    [Fact]
    public void A_capital_sigma_lowers_to_sigma_wherever_it_stands_as_in_the_rust_tokenizer()
    {
        AssertEncodes("ΣΟΦΟΣ", ["σ", "##ο", "##φ", "##ο", "##σ"]);
    }

    [Fact]
    public void Accent_stripping_follows_lower_casing_unless_set()
    {
        string[] words = ["café", "cafe", "Café", "İ", "i\u0307", "i"];

        Assert.Equal(["cafe", "i"], Toy(Uncased, words).Segment("Café İ"));
        Assert.Equal(["Café", "İ"], Toy(Uncased with { CaseFold = false }, words).Segment("Café İ"));
        Assert.Equal(["café", "i\u0307"], Toy(Uncased with { StripAccents = false }, words).Segment("Café İ"));
        Assert.Equal(["cafe", "i"], Toy(Uncased with { CaseFold = false, StripAccents = true }, words).Segment("cafe\u0301 i\u0307"));
    }

    [Fact]
    public void Each_cjk_ideograph_is_a_token_of_its_own_and_one_outside_the_vocabulary_is_unknown()
    {
        AssertEncodes("我的日本人", ["我", "的", "日", "本", "人"]);
        AssertEncodes("中文abc中", ["中", "文", "abc", "中"]);
        AssertEncodes("东京", ["[UNK]", "京"]);
    }

    [Fact]
    public void Without_cjk_splitting_ideographs_stay_in_their_word()
    {
        Assert.Equal(["日", "##本"], Tokenizer(Uncased with { SplitCjkCharacters = false }).Segment("日本"));
    }

    [Fact]
    public void Kana_is_not_split_per_character()
    {
        AssertEncodes("カタ", ["カ", "##タ"]);
    }

    [Fact]
    public void A_symbol_outside_the_vocabulary_is_unknown_and_one_inside_it_is_kept()
    {
        // ❤️ is U+2764 and the variation selector U+FE0F, a non-spacing mark that accent stripping drops.
        AssertEncodes("I ❤️ pizza 👍", ["i", "[UNK]", "pizza", "[UNK]"]);
        AssertEncodes("I ♥ pizza", ["i", "♥", "pizza"]);
    }

    [Fact]
    public void A_word_with_a_remainder_no_piece_starts_is_one_unknown_token()
    {
        AssertEncodes("ab❤cd ok", ["[UNK]", "ok"]);
    }

    [Fact]
    public void A_word_longer_than_100_code_points_is_one_unknown_token()
    {
        Assert.DoesNotContain("[UNK]", MiniLm.Value.Segment(new string('a', 100)));
        AssertEncodes(new string('a', 101), ["[UNK]"]);
    }

    [Fact]
    public void Control_and_format_characters_are_removed_and_every_whitespace_splits()
    {
        AssertEncodes("a\u0000b\u0007c\u200Bd \u00ADe\uFFFD", ["abc", "##d", "e"]);
        AssertEncodes("a\u2028b\u00A0c\u3000d\te\r\nf\u0085", ["a", "b", "c", "d", "e", "f"]);
    }

    [Fact]
    public void A_lone_surrogate_is_removed_not_rejected()
    {
        AssertEncodes("hello\uD800 world\uDC00", ["hello", "world"]);
    }

    [Theory]
    [InlineData("don't", new[] { "don", "'", "t" })]
    [InlineData("a$b^c`d~e|f", new[] { "a", "$", "b", "^", "c", "`", "d", "~", "e", "|", "f" })]
    [InlineData("foo_bar", new[] { "foo", "_", "bar" })]
    [InlineData("1.5 3,000", new[] { "1", ".", "5", "3", ",", "000" })]
    [InlineData("¿Qué?", new[] { "¿", "que", "?" })]
    public void Punctuation_and_ascii_symbols_are_tokens_of_their_own(string text, string[] pieces)
    {
        AssertEncodes(text, pieces);
    }

    [Fact]
    public void Special_tokens_typed_in_the_text_are_ordinary_text()
    {
        AssertEncodes("x [SEP] y", ["x", "[", "sep", "]", "y"]);
    }

    [Fact]
    public void An_empty_text_is_cls_and_sep()
    {
        Assert.Equal([Cls, Sep], MiniLm.Value.Encode(""));
        Assert.Equal([Cls, Sep], MiniLm.Value.Encode(" \u200B\t"));
    }

    [Fact]
    public void Truncation_cuts_the_word_pieces_and_keeps_cls_and_sep()
    {
        var tokenizer = Tokenizer(Uncased with { MaxSequenceLength = 5 });

        Assert.Equal([101L, 7592, 1010, 2026, 102], tokenizer.Encode("Hello, my dog is cute"));
        Assert.Equal([Cls, Id("una"), Id("##ffa"), Id("##ble"), Sep], tokenizer.Encode("unaffable"));
        Assert.Equal([Cls, Id("una"), Sep], Tokenizer(Uncased with { MaxSequenceLength = 3 }).Encode("unaffable dog"));

        Span<long> narrow = stackalloc long[4];
        Assert.Equal(4, MiniLm.Value.Encode("Hello, my dog is cute", narrow));
        Assert.Equal([101L, 7592, 1010, 102], narrow.ToArray());
    }

    [Fact]
    public void A_destination_without_room_for_cls_and_sep_is_refused()
    {
        Assert.Throws<ArgumentException>(() => MiniLm.Value.Encode("hello", new long[1]));
    }

    [Fact]
    public void Long_texts_outside_the_stack_buffers_encode_like_short_ones()
    {
        var tokenizer = Tokenizer(Uncased with { MaxSequenceLength = 2000 });
        string text = string.Join(' ', Enumerable.Repeat("Déjà", 600)); // NFD makes it longer still

        var ids = tokenizer.Encode(text);

        Assert.Equal(2 + 1200, ids.Length);
        Assert.Equal([Cls, .. Enumerable.Repeat(new[] { Id("de"), Id("##ja") }, 600).SelectMany(pair => pair), Sep], ids);
    }

    [Fact]
    public void A_batch_is_padded_with_pad_and_masked_by_row_length()
    {
        var batch = MiniLm.Value.EncodeBatch(["Hello, my dog is cute", "", "unaffable"]);

        Assert.Equal((3, 8), (batch.Count, batch.SequenceLength));
        Assert.Equal([8, 2, 5], batch.RowLengths.ToArray());
        Assert.Equal(
            [
                101L, 7592, 1010, 2026, 3899, 2003, 10140, 102,
                101, 102, 0, 0, 0, 0, 0, 0,
                101, Id("una"), Id("##ffa"), Id("##ble"), 102, 0, 0, 0,
            ],
            batch.InputIds.ToArray());
        Assert.Equal(
            [
                1L, 1, 1, 1, 1, 1, 1, 1,
                1, 1, 0, 0, 0, 0, 0, 0,
                1, 1, 1, 1, 1, 0, 0, 0,
            ],
            batch.AttentionMask.ToArray());

        var again = MiniLm.Value.EncodeBatch(["dog"], batch);
        Assert.Equal([Cls, 3899, Sep], again.InputIds.ToArray());
    }

    [Fact]
    public void Encoding_a_short_text_without_accents_to_strip_into_a_span_allocates_nothing()
    {
        // Text that needs NFD costs the runtime's normalization a small allocation; ASCII and cased text cost nothing.
        var uncased = MiniLm.Value;
        var cased = Tokenizer(Uncased with { CaseFold = false });
        long[] ids = new long[64];
        uncased.Encode("Hello, my dog is cute", ids);
        cased.Encode("Café déjà vu, 我的日本人", ids);

        Assert.Equal(0, ThreadAllocations.Fewest(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                uncased.Encode("Hello, my dog is cute", ids);
                cased.Encode("Café déjà vu, 我的日本人", ids);
            }
        }));
    }

    [Fact]
    public void A_definition_survives_a_json_round_trip_and_encodes_the_same()
    {
        var definition = TokenizerDefinition.WordPiece(MiniLmVocabulary.Value, Uncased with { MaxSequenceLength = 256, StripAccents = true });

        string json = definition.ToJson();
        var read = TokenizerDefinition.FromJson(json);

        Assert.Equal(definition, read);
        Assert.Equal(TokenizerDefinition.WordPieceFormat, read.Format);
        Assert.Contains("\"kind\":\"word_piece\"", json);
        Assert.Contains("\"##ffa\"", json);
        Assert.Equal(new TextTokenizer(definition).Encode("Café déjà vu, unaffable"), new TextTokenizer(read).Encode("Café déjà vu, unaffable"));
        Assert.NotEqual(definition, definition with { Vocabulary = [.. definition.Vocabulary.Take(30_521)] });
    }

    [Fact]
    public void Serving_rebuilds_the_tokenizer_from_the_models_metadata()
    {
        var tokenizer = TokenizerDefinition.WordPiece(MiniLmVocabulary.Value, Uncased with { MaxSequenceLength = 32 });
        var metadata = new ClassifierMetadata("bert-encoder", TinyClassifier.Labels, tokenizer, null, null);

        Assert.Equal(tokenizer, ClassifierMetadata.FromProperties(metadata.ToProperties()).Tokenizer);

        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
        var session = ClassifierSession.Create(TinyClassifier.Build(metadata), options, "CPU");
        try
        {
            Assert.Equal(tokenizer, session.Metadata.Tokenizer);
            Assert.Equal([101L, 7592, 1010, 2026, 3899, 2003, 10140, 102], session.Tokenizer.Encode("Hello, my dog is cute"));
            Assert.Equal(8, session.Run(["Hello, my dog is cute", "dog"]).SequenceLength);
        }
        finally
        {
            session.Release();
        }
    }

    [Fact]
    public void Settings_json_without_a_kind_reads_as_the_words_tokenizer()
    {
        var definition = TokenizerDefinition.FromJson("{\"format\":1,\"settings\":{\"max_sequence_length\":8},\"vocabulary\":[\"a\"]}");

        Assert.Equal(TokenizerKind.Words, definition.Settings.Kind);
        Assert.Equal([TextTokenizer.FirstWordId, TextTokenizer.UnknownId], new TextTokenizer(definition).Encode("a b"));
    }

    [Fact]
    public void WordPiece_settings_need_no_n_gram_fields_and_report_their_problems_by_field()
    {
        Assert.Empty(Uncased.Validate());
        Assert.Empty((Uncased with { CaseFold = false, StripAccents = true, SplitCjkCharacters = false, MaxSequenceLength = 2 }).Validate());

        var errors = (Uncased with { MaxSequenceLength = 1, WordBigramBuckets = 10, CharNGrams = CharNGramMode.AllWords, CharNGramBuckets = 10 }).Validate();
        Assert.Equal(
            [nameof(TokenizerSettings.MaxSequenceLength), nameof(TokenizerSettings.WordBigramBuckets), nameof(TokenizerSettings.CharNGrams)],
            errors.Select(e => e.Field));

        var words = new TokenizerSettings { StripAccents = false, SplitCjkCharacters = false }.Validate();
        Assert.Equal([nameof(TokenizerSettings.StripAccents), nameof(TokenizerSettings.SplitCjkCharacters)], words.Select(e => e.Field));
        Assert.Equal([nameof(TokenizerSettings.Kind)], new TokenizerSettings { Kind = (TokenizerKind)7 }.Validate().Select(e => e.Field));
    }

    [Theory]
    [InlineData(new[] { "[PAD]", "[UNK]", "[SEP]", "a" }, "lacks [CLS]")]
    [InlineData(new[] { "[PAD]", "a" }, "lacks [UNK], [CLS], [SEP]")]
    [InlineData(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b", "a" }, "lists \"a\" twice, as ids 4 and 6")]
    [InlineData(new[] { "[UNK]", "[PAD]", "[CLS]", "[SEP]" }, "has [PAD] as id 1")]
    public void A_vocabulary_without_the_special_tokens_or_with_a_token_twice_is_refused(string[] vocabulary, string message)
    {
        var refused = Assert.Throws<ArgumentException>(() => TokenizerDefinition.WordPiece(vocabulary, Uncased));
        Assert.Contains(message, refused.Message);

        string json = new TokenizerDefinition(Uncased, vocabulary).ToJson();
        Assert.Contains(message, Assert.Throws<InvalidDataException>(() => TokenizerDefinition.FromJson(json)).Message);
        Assert.Throws<ArgumentException>(() => new TextTokenizer(new TokenizerDefinition(Uncased, vocabulary)));
    }

    [Fact]
    public void A_wordpiece_definition_is_not_learned_nor_built_from_words_settings()
    {
        Assert.Throws<ArgumentException>(() => TokenizerDefinition.Learn(["a b"], Uncased));
        Assert.Throws<ArgumentException>(() => TokenizerDefinition.WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], new TokenizerSettings()));
    }

    [Fact]
    public void A_wordpiece_definition_claiming_the_words_format_is_refused()
    {
        string json = TokenizerDefinition.WordPiece(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], Uncased).ToJson().Replace("\"format\":2", "\"format\":1", StringComparison.Ordinal);

        Assert.Throws<InvalidDataException>(() => TokenizerDefinition.FromJson(json));
    }

    [Fact]
    public void A_vocabulary_file_is_read_one_token_per_line_whatever_the_line_ends()
    {
        byte[] file = [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("[PAD]\r\n[UNK]\n[CLS]\r\n[SEP]\n##é\r\n")];
        using var stream = new MemoryStream(file);

        var definition = TokenizerDefinition.WordPiece(stream, Uncased with { StripAccents = false });

        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "##é"], definition.Vocabulary);
        Assert.Throws<InvalidDataException>(() => TokenizerDefinition.ReadVocabulary(new MemoryStream([0x5B, 0xFF, 0x0A])));
    }
}
