using System.Buffers;
using System.Text;

namespace TextClassification.Inference.Tokenization;

/// <summary>
/// NFKC normalization and case folding into a caller's buffer. ASCII text (the common case) takes a copy-and-lower
/// path with no normalization call at all, since NFKC leaves ASCII unchanged.
/// </summary>
internal static class TextNormalizer
{
    /// <summary>
    /// Returns the normalized text, written into <paramref name="scratch"/> when it fits, else into an array rented
    /// from the shared pool and left in <paramref name="rented"/> (give it back with <see cref="Return"/>).
    /// </summary>
    /// <remarks>
    /// After NFKC (which maps compatibility forms such as full-width letters and ligatures), the text is lower-cased
    /// one code point at a time with the invariant simple case mapping, U+2019 becomes an ASCII apostrophe, and
    /// variation selectors are dropped so that an emoji with and without U+FE0F is the same symbol. Ill-formed UTF-16
    /// (a lone surrogate) becomes U+FFFD rather than an error: serving must not fail on odd input.
    /// </remarks>
    public static Span<char> Normalize(ReadOnlySpan<char> text, bool caseFold, Span<char> scratch, scoped ref char[]? rented)
    {
        if (Ascii.IsValid(text))
        {
            var ascii = Buffer(text.Length, scratch, ref rented);
            if (caseFold)
            {
                Ascii.ToLower(text, ascii, out _);
            }
            else
            {
                text.CopyTo(ascii);
            }

            return ascii;
        }

        char[]? sanitized = null;
        try
        {
            if (!IsWellFormed(text))
            {
                sanitized = ArrayPool<char>.Shared.Rent(text.Length);
                int written = Sanitize(text, sanitized);
                text = sanitized.AsSpan(0, written);
            }

            Span<char> output;
            int length;
            // The runtime's check allocates; Latin text, the common non-ASCII case, is decided here without it.
            if (IsLatinNfkc(text) || text.IsNormalized(NormalizationForm.FormKC))
            {
                output = Buffer(text.Length, scratch, ref rented);
                text.CopyTo(output);
                length = text.Length;
            }
            else
            {
                // Most text grows little under NFKC; ask for the exact length only when a generous guess is short.
                output = Buffer(text.Length * 2, scratch, ref rented);
                if (!text.TryNormalize(output, out length, NormalizationForm.FormKC))
                {
                    output = Buffer(text.GetNormalizedLength(NormalizationForm.FormKC), scratch, ref rented);
                    text.TryNormalize(output, out length, NormalizationForm.FormKC);
                }
            }

            return output[..Fold(output[..length], caseFold)];
        }
        finally
        {
            if (sanitized is not null)
            {
                ArrayPool<char>.Shared.Return(sanitized);
            }
        }
    }

    public static void Return(char[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// <paramref name="length"/> characters of <paramref name="scratch"/> when they fit, else of an array rented from
    /// the shared pool into <paramref name="rented"/> (a smaller one rented before goes back).
    /// </summary>
    public static Span<char> Buffer(int length, Span<char> scratch, scoped ref char[]? rented)
    {
        if (length <= scratch.Length)
        {
            return scratch[..length];
        }

        if (rented is null || rented.Length < length)
        {
            Return(rented);
            rented = ArrayPool<char>.Shared.Rent(length);
        }

        return rented.AsSpan(0, length);
    }

    /// <summary>Lower-cases in place and drops what should not count; returns the new length (never longer).</summary>
    private static int Fold(Span<char> text, bool caseFold)
    {
        int write = 0;
        for (int read = 0; read < text.Length; read++)
        {
            char c = text[read];
            if (char.IsHighSurrogate(c) && read + 1 < text.Length && char.IsLowSurrogate(text[read + 1]))
            {
                var rune = new Rune(c, text[read + 1]);
                read++;
                if (rune.Value is >= 0xE0100 and <= 0xE01EF)
                {
                    continue;
                }

                if (caseFold)
                {
                    var lower = Rune.ToLowerInvariant(rune);
                    if (lower.Utf16SequenceLength == 2)
                    {
                        rune = lower;
                    }
                }

                rune.EncodeToUtf16(text[write..]);
                write += 2;
                continue;
            }

            if (c is >= '\uFE00' and <= '\uFE0F')
            {
                continue;
            }

            text[write++] = c == '\u2019' ? '\'' : caseFold ? char.ToLowerInvariant(c) : c;
        }

        return write;
    }

    /// <summary>
    /// True when every character is below U+0250 and none of them is one of the 32 in that range that NFKC changes
    /// (no-break space, superscripts, fractions, ª º µ, ĳ, ſ, the DŽ/LJ/NJ/DZ digraphs, ...). Combining marks start at
    /// U+0300, so such text has nothing to compose either.
    /// </summary>
    private static bool IsLatinNfkc(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (c < '\u00A0')
            {
                continue;
            }

            if (c >= '\u0250' || c is '\u00A0' or '\u00A8' or '\u00AA' or '\u00AF' or (>= '\u00B2' and <= '\u00B5') or '\u00B8' or '\u00B9' or '\u00BA'
                or (>= '\u00BC' and <= '\u00BE') or '\u0132' or '\u0133' or '\u013F' or '\u0140' or '\u0149' or '\u017F'
                or (>= '\u01C4' and <= '\u01CC') or (>= '\u01F1' and <= '\u01F3'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static int Sanitize(ReadOnlySpan<char> text, Span<char> output)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                output[i] = text[i];
                output[i + 1] = text[i + 1];
                i++;
            }
            else
            {
                output[i] = char.IsSurrogate(text[i]) ? '\uFFFD' : text[i];
            }
        }

        return text.Length;
    }
}
