using System.Globalization;
using System.Text;

namespace TextClassification.Inference.Tokenization;

/// <summary>What a segmented word is made of; decides which features it gives.</summary>
internal enum WordKind
{
    /// <summary>Letters and digits of a space-separated script (with their marks and inner apostrophes).</summary>
    Word,

    /// <summary>One character of a script written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, Yi), with its marks.</summary>
    Unsegmented,

    /// <summary>One punctuation mark or symbol (emoji included).</summary>
    Symbol,
}

/// <summary>
/// Splits normalized text into words by Unicode general category, without allocating: the current word is a range
/// of the text.
/// </summary>
/// <remarks>
/// Letters and numbers form words; combining marks and the zero-width (non-)joiner stay inside the word they follow;
/// an apostrophe between letters stays inside (<c>what's</c>); every punctuation mark or symbol is a word of its own;
/// separators, controls and anything unassigned split words and are dropped. Letters of scripts written without
/// spaces become one word per character, so that the word-pair features act as character bigrams there.
/// </remarks>
internal ref struct WordSegmenter(ReadOnlySpan<char> text)
{
    private readonly ReadOnlySpan<char> text = text;
    private int position;

    private enum CharClass : byte
    {
        Separator,
        Letter,
        Unsegmented,
        Joiner,
        Apostrophe,
        Symbol,
    }

    public int Start { get; private set; }

    public int Length { get; private set; }

    public WordKind Kind { get; private set; }

    public bool MoveNext()
    {
        while (position < text.Length)
        {
            var first = Read(position, out int size);
            if (first is CharClass.Separator or CharClass.Joiner)
            {
                position += size;
                continue;
            }

            Start = position;
            position += size;
            switch (first)
            {
                case CharClass.Letter:
                    Kind = WordKind.Word;
                    ExtendWord();
                    break;
                case CharClass.Unsegmented:
                    Kind = WordKind.Unsegmented;
                    ExtendJoiners();
                    break;
                default:
                    Kind = WordKind.Symbol;
                    break;
            }

            Length = position - Start;
            return true;
        }

        return false;
    }

    private void ExtendWord()
    {
        while (position < text.Length)
        {
            var next = Read(position, out int size);
            if (next is CharClass.Letter or CharClass.Joiner)
            {
                position += size;
            }
            else if (next == CharClass.Apostrophe && position + size < text.Length && Read(position + size, out int after) == CharClass.Letter)
            {
                position += size + after;
            }
            else
            {
                return;
            }
        }
    }

    private void ExtendJoiners()
    {
        while (position < text.Length && Read(position, out int size) == CharClass.Joiner)
        {
            position += size;
        }
    }

    private readonly CharClass Read(int at, out int size)
    {
        char c = text[at];
        if (c < 128)
        {
            size = 1;
            return (CharClass)AsciiClasses[c];
        }

        if (Rune.DecodeFromUtf16(text[at..], out var rune, out size) != System.Buffers.OperationStatus.Done)
        {
            size = Math.Max(size, 1);
            return CharClass.Symbol;
        }

        return Classify(rune);
    }

    private static CharClass Classify(Rune rune)
    {
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return IsUnsegmentedScript(rune.Value) ? CharClass.Unsegmented : CharClass.Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return IsUnsegmentedScript(rune.Value) ? CharClass.Unsegmented : CharClass.Letter;
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.SpacingCombiningMark:
            case UnicodeCategory.EnclosingMark:
                return CharClass.Joiner;
            case UnicodeCategory.Format:
                return rune.Value is 0x200C or 0x200D ? CharClass.Joiner : CharClass.Separator;
            case UnicodeCategory.ConnectorPunctuation:
            case UnicodeCategory.DashPunctuation:
            case UnicodeCategory.OpenPunctuation:
            case UnicodeCategory.ClosePunctuation:
            case UnicodeCategory.InitialQuotePunctuation:
            case UnicodeCategory.FinalQuotePunctuation:
            case UnicodeCategory.OtherPunctuation:
            case UnicodeCategory.MathSymbol:
            case UnicodeCategory.CurrencySymbol:
            case UnicodeCategory.ModifierSymbol:
            case UnicodeCategory.OtherSymbol:
                return CharClass.Symbol;
            default:
                return CharClass.Separator;
        }
    }

    /// <summary>Scripts whose text has no spaces between words.</summary>
    private static bool IsUnsegmentedScript(int codePoint) => codePoint switch
    {
        >= 0x0E00 and <= 0x0EFF => true, // Thai, Lao
        >= 0x1000 and <= 0x109F => true, // Myanmar
        >= 0x1780 and <= 0x17FF => true, // Khmer
        >= 0x19E0 and <= 0x19FF => true, // Khmer symbols
        >= 0x2E80 and <= 0x2FDF => true, // CJK radicals, Kangxi radicals
        >= 0x3000 and <= 0x312F => true, // CJK symbols (々, 〆), Hiragana, Katakana, Bopomofo
        >= 0x3190 and <= 0x31FF => true, // Kanbun, Bopomofo extended, CJK strokes, Katakana extensions
        >= 0x3400 and <= 0x4DBF => true, // CJK extension A
        >= 0x4E00 and <= 0x9FFF => true, // CJK unified ideographs
        >= 0xA000 and <= 0xA4CF => true, // Yi
        >= 0xF900 and <= 0xFAFF => true, // CJK compatibility ideographs
        >= 0xFF66 and <= 0xFF9F => true, // half-width Katakana (NFKC maps most of it to full width)
        >= 0x1B000 and <= 0x1B16F => true, // Kana supplement and extensions
        >= 0x20000 and <= 0x3FFFF => true, // CJK extensions B and later
        _ => false,
    };

    // Letters and digits are Letter, the apostrophe is Apostrophe, other printable characters are Symbol,
    // and space and controls are Separator.
    private static ReadOnlySpan<byte> AsciiClasses =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 5, 5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5, 5, 5, 5,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5,
        5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5,
        5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 0,
    ];
}
