using System.Globalization;
using System.Text;

namespace TextClassification.Inference.Tokenization;

/// <summary>
/// BERT's basic tokenizer, the step before WordPiece: text cleaning, optional accent stripping and lower-casing
/// (<see cref="Normalize"/>), then words split at whitespace, punctuation and CJK ideographs
/// (<see cref="BertWordSplitter"/>). It follows Google's <c>tokenization.py</c> and Hugging Face's Rust
/// <c>BertNormalizer</c> and <c>BertPreTokenizer</c> (the fast tokenizer that loads for all-MiniLM-L6-v2).
/// </summary>
/// <remarks>
/// Where the references differ, this follows the Rust one: lower-casing maps each code point on its own (so a
/// word-final capital sigma becomes σ, where Python's <c>str.lower</c> gives ς), and text is not NFC-normalized first
/// (Hugging Face's Python tokenizer does that; it changes only cased models fed decomposed text). Text that spells a
/// special token, such as <c>[SEP]</c>, is tokenized as ordinary text, as in Google's tokenizer: a request's text can
/// never forge a separator.
/// </remarks>
internal static class BertBasicTokenizer
{
    /// <summary>
    /// Returns the normalized text, in <paramref name="scratch"/> or <paramref name="scratch2"/> when it fits, else in
    /// arrays rented into <paramref name="rented"/> and <paramref name="rented2"/> (give both back with
    /// <see cref="TextNormalizer.Return"/>). Whitespace comes out as plain spaces.
    /// </summary>
    /// <remarks>
    /// Cleaning drops U+0000, U+FFFD and every character of category C (controls, format characters such as the
    /// zero-width space and soft hyphen, lone surrogates, private use, unassigned), except tab, line feed and carriage
    /// return, which become spaces like every other whitespace character. Accent stripping is NFD followed by dropping
    /// non-spacing marks (Mn); lower-casing comes after it, as in the Rust normalizer.
    /// </remarks>
    public static Span<char> Normalize(
        ReadOnlySpan<char> text, bool lowerCase, bool stripAccents, Span<char> scratch, scoped ref char[]? rented, Span<char> scratch2, scoped ref char[]? rented2)
    {
        var cleaned = TextNormalizer.Buffer(text.Length, scratch, ref rented);
        cleaned = cleaned[..Clean(text, cleaned, out bool ascii)];
        if (ascii)
        {
            // NFD leaves ASCII as it is, and ASCII has no marks to drop.
            if (lowerCase)
            {
                Ascii.ToLowerInPlace(cleaned, out _);
            }

            return cleaned;
        }

        if (stripAccents)
        {
            // NFD rarely more than doubles text; ask for the exact length only when that guess is short. The runtime's
            // normalization allocates a little for text that is not ASCII; the common ASCII case never gets here.
            var decomposed = TextNormalizer.Buffer(cleaned.Length * 2, scratch2, ref rented2);
            if (!cleaned.TryNormalize(decomposed, out int length, NormalizationForm.FormD))
            {
                decomposed = TextNormalizer.Buffer(cleaned.GetNormalizedLength(NormalizationForm.FormD), scratch2, ref rented2);
                cleaned.TryNormalize(decomposed, out length, NormalizationForm.FormD);
            }

            cleaned = decomposed[..DropNonSpacingMarks(decomposed[..length])];
        }

        if (!lowerCase)
        {
            return cleaned;
        }

        // İ is the one code point whose full lower case is longer (i and a combining dot). After accent stripping
        // none is left; without it, lower into the second buffer, which is free then.
        int dotted = cleaned.Count('\u0130');
        if (dotted == 0)
        {
            return cleaned[..Lower(cleaned, cleaned)];
        }

        var lowered = TextNormalizer.Buffer(cleaned.Length + dotted, scratch2, ref rented2);
        return lowered[..Lower(cleaned, lowered)];
    }

    /// <summary>BERT's punctuation: Unicode category P, and every ASCII symbol too (<c>$ + &lt; = &gt; ^ ` | ~</c>).</summary>
    public static bool IsPunctuation(Rune rune)
    {
        int c = rune.Value;
        if (c < 128)
        {
            return c is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126);
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>
    /// BERT's CJK ideographs (the Unified Ideographs blocks and extensions, and the compatibility ideographs). Not
    /// Hiragana, Katakana or Hangul, which BERT keeps in words like any other letters.
    /// </summary>
    public static bool IsCjkIdeograph(int codePoint) => codePoint is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF)
        or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
        or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private static int Clean(ReadOnlySpan<char> text, Span<char> output, out bool ascii)
    {
        ascii = true;
        int write = 0;
        for (int read = 0; read < text.Length; read++)
        {
            char c = text[read];
            if (c < 128)
            {
                if (c is ' ' or '\t' or '\n' or '\r')
                {
                    output[write++] = ' ';
                }
                else if (c is >= ' ' and not '\u007F')
                {
                    output[write++] = c;
                }

                continue;
            }

            ascii = false;
            Rune rune;
            if (char.IsHighSurrogate(c) && read + 1 < text.Length && char.IsLowSurrogate(text[read + 1]))
            {
                rune = new Rune(c, text[++read]);
            }
            else if (char.IsSurrogate(c))
            {
                continue;
            }
            else
            {
                rune = new Rune(c);
            }

            if (rune.Value == 0xFFFD || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
            {
                continue;
            }

            if (Rune.IsWhiteSpace(rune))
            {
                output[write++] = ' ';
                continue;
            }

            write += rune.EncodeToUtf16(output[write..]);
        }

        return write;
    }

    private static int DropNonSpacingMarks(Span<char> text)
    {
        int write = 0;
        for (int read = 0; read < text.Length; read++)
        {
            int size = char.IsHighSurrogate(text[read]) && read + 1 < text.Length && char.IsLowSurrogate(text[read + 1]) ? 2 : 1;
            var category = size == 2
                ? CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[read], text[read + 1]))
                : CharUnicodeInfo.GetUnicodeCategory(text[read]);
            if (category != UnicodeCategory.NonSpacingMark)
            {
                text.Slice(read, size).CopyTo(text[write..]);
                write += size;
            }

            read += size - 1;
        }

        return write;
    }

    /// <summary>
    /// Lower-cases each code point on its own into <paramref name="output"/>, which may be <paramref name="text"/>
    /// itself when it holds no İ; returns the length written.
    /// </summary>
    private static int Lower(ReadOnlySpan<char> text, Span<char> output)
    {
        int write = 0;
        for (int read = 0; read < text.Length; read++)
        {
            char c = text[read];
            if (char.IsHighSurrogate(c) && read + 1 < text.Length && char.IsLowSurrogate(text[read + 1]))
            {
                // A supplementary letter's lower case is supplementary too: writing never overtakes reading.
                var lower = Rune.ToLowerInvariant(new Rune(c, text[++read]));
                write += lower.EncodeToUtf16(output[write..]);
            }
            else if (c == '\u0130')
            {
                // .NET's invariant casing leaves İ as it is; Unicode's full lower case is i followed by U+0307.
                output[write++] = 'i';
                output[write++] = '\u0307';
            }
            else
            {
                output[write++] = char.ToLowerInvariant(c);
            }
        }

        return write;
    }
}

/// <summary>
/// Splits text that <see cref="BertBasicTokenizer.Normalize"/> produced into BERT's words without allocating: runs of
/// characters between whitespace, with each punctuation character, and each CJK ideograph when asked, a word of its own.
/// </summary>
internal ref struct BertWordSplitter(ReadOnlySpan<char> text, bool splitCjk)
{
    private readonly ReadOnlySpan<char> text = text;
    private readonly bool splitCjk = splitCjk;
    private int position;

    public int Start { get; private set; }

    public int Length { get; private set; }

    public bool MoveNext()
    {
        while (position < text.Length)
        {
            var rune = Read(position, out int size);
            if (Rune.IsWhiteSpace(rune))
            {
                position += size;
                continue;
            }

            Start = position;
            position += size;
            if (!StandsAlone(rune))
            {
                while (position < text.Length)
                {
                    var next = Read(position, out size);
                    if (Rune.IsWhiteSpace(next) || StandsAlone(next))
                    {
                        break;
                    }

                    position += size;
                }
            }

            Length = position - Start;
            return true;
        }

        return false;
    }

    private readonly bool StandsAlone(Rune rune) => BertBasicTokenizer.IsPunctuation(rune) || (splitCjk && BertBasicTokenizer.IsCjkIdeograph(rune.Value));

    // Normalized text holds no lone surrogate (cleaning drops them), so every read decodes.
    private readonly Rune Read(int at, out int size)
    {
        char c = text[at];
        if (char.IsHighSurrogate(c) && at + 1 < text.Length)
        {
            size = 2;
            return new Rune(c, text[at + 1]);
        }

        size = 1;
        return new Rune(c);
    }
}
