namespace TextClassification.Inference.Tokenization;

/// <summary>How a <see cref="TextTokenizer"/> turns text into ids.</summary>
public enum TokenizerKind
{
    /// <summary>
    /// Words learned from the training texts, with optional hashed word pairs and character n-grams; for the models
    /// this service trains from scratch.
    /// </summary>
    Words,

    /// <summary>
    /// BERT's tokenizer: basic tokenization, then greedy longest-match-first WordPiece over a pretrained model's
    /// vocab.txt, between <c>[CLS]</c> and <c>[SEP]</c>; for fine-tuning BERT-family encoders.
    /// </summary>
    WordPiece,
}

/// <summary>Which words contribute hashed character n-grams.</summary>
public enum CharNGramMode
{
    /// <summary>No character n-grams.</summary>
    None,

    /// <summary>
    /// Every word gives its word id followed by its n-grams (fastText-style bag of subwords). Suits order-free models.
    /// </summary>
    AllWords,

    /// <summary>
    /// Words in the vocabulary give their id alone; a word outside it gives its n-grams in place of the unknown id, so
    /// a typo still lands on related features while known text stays one position per word. Suits positional models.
    /// </summary>
    UnknownWords,
}

/// <summary>
/// How text becomes ids. Part of <see cref="TokenizerDefinition"/>, so it travels with every trained model and
/// serving encodes exactly as training did.
/// </summary>
/// <remarks>
/// Id layout of the <see cref="TokenizerKind.Words"/> kind (the embedding table has
/// <see cref="TextTokenizer.VocabularySize"/> rows): <c>0</c> padding, <c>1</c> unknown, then the learned words, then
/// <see cref="WordBigramBuckets"/> hashed word-pair buckets, then <see cref="CharNGramBuckets"/> hashed character
/// n-gram buckets. The <see cref="TokenizerKind.WordPiece"/> kind's ids are the lines of the model's vocab.txt; of the
/// fields below it reads <see cref="MaxSequenceLength"/>, <see cref="CaseFold"/>, <see cref="StripAccents"/> and
/// <see cref="SplitCjkCharacters"/>, and leaves the vocabulary-learning ones (<see cref="MinCount"/>,
/// <see cref="MaxVocabularySize"/>) unused.
/// </remarks>
public sealed record TokenizerSettings
{
    /// <summary>Absent from JSON written before WordPiece existed, which therefore reads as <see cref="TokenizerKind.Words"/>.</summary>
    public TokenizerKind Kind { get; init; } = TokenizerKind.Words;

    /// <summary>
    /// At most this many ids per text; the rest of a long text is cut off. For WordPiece it counts <c>[CLS]</c> and
    /// <c>[SEP]</c>, which are always kept: the word pieces are cut to two fewer.
    /// </summary>
    public int MaxSequenceLength { get; init; } = 128;

    /// <summary>
    /// Lower-cases text. Words: simple, culture-invariant case mapping after NFKC normalization. WordPiece: BERT's
    /// <c>do_lower_case</c>, on for uncased models (all-MiniLM-L6-v2, bert-base-uncased) and off for cased ones.
    /// </summary>
    public bool CaseFold { get; init; } = true;

    /// <summary>
    /// WordPiece only: decompose (NFD) and drop non-spacing marks, so <c>déjà</c> reads as <c>deja</c>. Null follows
    /// <see cref="CaseFold"/>, as BERT's <c>strip_accents</c> does: uncased vocabularies were built from text stripped so.
    /// </summary>
    public bool? StripAccents { get; init; }

    /// <summary>
    /// WordPiece only: every CJK ideograph is a word of its own (BERT's <c>tokenize_chinese_chars</c>). The words kind
    /// always splits unsegmented scripts per character.
    /// </summary>
    public bool SplitCjkCharacters { get; init; } = true;

    /// <summary>When learning the vocabulary, words seen fewer times than this are left out.</summary>
    public int MinCount { get; init; } = 1;

    /// <summary>When learning the vocabulary, only this many of the most frequent words are kept.</summary>
    public int MaxVocabularySize { get; init; } = 30_000;

    /// <summary>Hash buckets for adjacent word pairs; 0 turns word bigrams off.</summary>
    public int WordBigramBuckets { get; init; }

    public CharNGramMode CharNGrams { get; init; } = CharNGramMode.None;

    /// <summary>Shortest character n-gram, counted on the word wrapped in boundary marks <c>&lt;word&gt;</c>.</summary>
    public int CharNGramMin { get; init; } = 3;

    /// <summary>Longest character n-gram.</summary>
    public int CharNGramMax { get; init; } = 5;

    /// <summary>Hash buckets for character n-grams; must be positive unless <see cref="CharNGrams"/> is None.</summary>
    public int CharNGramBuckets { get; init; }

    /// <summary>BERT's <c>strip_accents</c> as it applies: <see cref="StripAccents"/>, or <see cref="CaseFold"/> when that is null.</summary>
    internal bool StripsAccents => StripAccents ?? CaseFold;

    /// <summary>Field-named problems with these settings; empty when they are usable.</summary>
    public IReadOnlyList<TokenizerSettingsError> Validate()
    {
        var errors = new List<TokenizerSettingsError>();
        if (!Enum.IsDefined(Kind))
        {
            errors.Add(new(nameof(Kind), "must be words or word_piece"));
        }

        if (Kind == TokenizerKind.WordPiece)
        {
            if (MaxSequenceLength is < 2 or > 65_536)
            {
                errors.Add(new(nameof(MaxSequenceLength), "must be between 2 and 65536: [CLS] and [SEP] take two positions"));
            }

            if (WordBigramBuckets != 0)
            {
                errors.Add(new(nameof(WordBigramBuckets), "must be 0 for a WordPiece tokenizer: word pairs belong to the words tokenizer"));
            }

            if (CharNGrams != CharNGramMode.None)
            {
                errors.Add(new(nameof(CharNGrams), "must be none for a WordPiece tokenizer: character n-grams belong to the words tokenizer"));
            }

            return errors;
        }

        if (MaxSequenceLength is < 1 or > 65_536)
        {
            errors.Add(new(nameof(MaxSequenceLength), "must be between 1 and 65536"));
        }

        if (StripAccents is not null)
        {
            errors.Add(new(nameof(StripAccents), "applies only to WordPiece tokenizers; leave it out for the words tokenizer"));
        }

        if (!SplitCjkCharacters)
        {
            errors.Add(new(nameof(SplitCjkCharacters), "applies only to WordPiece tokenizers; the words tokenizer always splits unsegmented scripts per character"));
        }

        if (MinCount < 1)
        {
            errors.Add(new(nameof(MinCount), "must be at least 1"));
        }

        if (MaxVocabularySize is < 0 or > 10_000_000)
        {
            errors.Add(new(nameof(MaxVocabularySize), "must be between 0 and 10000000"));
        }

        if (WordBigramBuckets is < 0 or > 10_000_000)
        {
            errors.Add(new(nameof(WordBigramBuckets), "must be between 0 and 10000000"));
        }

        if (CharNGrams != CharNGramMode.None)
        {
            if (CharNGramBuckets is < 1 or > 10_000_000)
            {
                errors.Add(new(nameof(CharNGramBuckets), "must be between 1 and 10000000 when character n-grams are on"));
            }

            if (CharNGramMin is < 1 or > TextTokenizer.MaxCharNGram)
            {
                errors.Add(new(nameof(CharNGramMin), $"must be between 1 and {TextTokenizer.MaxCharNGram}"));
            }

            if (CharNGramMax < CharNGramMin || CharNGramMax > TextTokenizer.MaxCharNGram)
            {
                errors.Add(new(nameof(CharNGramMax), $"must be between {nameof(CharNGramMin)} and {TextTokenizer.MaxCharNGram}"));
            }
        }

        return errors;
    }
}

/// <summary>A problem with one tokenizer setting.</summary>
public sealed record TokenizerSettingsError(string Field, string Message);
