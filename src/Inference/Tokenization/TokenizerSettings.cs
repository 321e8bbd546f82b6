namespace TextClassification.Inference.Tokenization;

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
/// Id layout (the embedding table has <see cref="TextTokenizer.VocabularySize"/> rows):
/// <c>0</c> padding, <c>1</c> unknown, then the learned words, then <see cref="WordBigramBuckets"/> hashed word-pair
/// buckets, then <see cref="CharNGramBuckets"/> hashed character n-gram buckets.
/// </remarks>
public sealed record TokenizerSettings
{
    /// <summary>At most this many ids per text; the rest of a long text is cut off.</summary>
    public int MaxSequenceLength { get; init; } = 128;

    /// <summary>Lower-cases text (simple, culture-invariant case mapping) after NFKC normalization.</summary>
    public bool CaseFold { get; init; } = true;

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

    /// <summary>Field-named problems with these settings; empty when they are usable.</summary>
    public IReadOnlyList<TokenizerSettingsError> Validate()
    {
        var errors = new List<TokenizerSettingsError>();
        if (MaxSequenceLength is < 1 or > 65_536)
        {
            errors.Add(new(nameof(MaxSequenceLength), "must be between 1 and 65536"));
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
