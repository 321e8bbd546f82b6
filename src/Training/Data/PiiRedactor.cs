using System.Text;
using System.Text.RegularExpressions;

namespace TextClassification.Training.Data;

/// <summary>
/// Replaces personal data in free text with placeholder tokens: e-mail addresses with <c>[EMAIL]</c>, IBANs with
/// <c>[IBAN]</c>, payment card numbers with <c>[CARD]</c> and phone numbers with <c>[PHONE]</c>.
/// </summary>
/// <remarks>
/// <para>
/// Each kind is found by a source-generated regular expression for its shape and then, where a checksum exists,
/// confirmed by it, which is what keeps ordinary numbers intact:
/// </para>
/// <list type="bullet">
/// <item><description>E-mail: <c>local@domain.tld</c>, letters of any script, a TLD of two or more letters.</description></item>
/// <item><description>
/// IBAN: two capital letters, two check digits and 11–30 capital letters or digits (15–34 in all), unspaced or with
/// single spaces; it must pass the ISO 13616 mod-97 check. Where trailing words follow an IBAN, the longest prefix that
/// ends at a space and passes the check is taken.
/// </description></item>
/// <item><description>
/// Card: 13–19 ASCII digits, unseparated or in groups split by single spaces or dashes, every group but the last at
/// least four digits long (4-4-4-4, 4-6-5, 4-4-4-1 …), passing the Luhn check. A run of digits glued to letters or
/// digits, or of more than 19 digits with no group boundary to cut at, is not a card.
/// </description></item>
/// <item><description>
/// Phone: <c>+</c> and a country code followed by groups (<c>+44 20 7946 0958</c>, <c>+1 (555) 123-4567</c>), 7–15
/// digits; or a national number of 9–15 digits: <c>(555) 123-4567</c>, <c>555-123-4567</c>, <c>555.123.4567</c>,
/// <c>555 123 4567</c>, or a trunk-prefixed <c>020 7946 0958</c> with one kind of separator throughout. A bare
/// seven-digit <c>555-1234</c> is left alone: it cannot be told from a range such as <c>100-1000</c>. Years, dates,
/// quantities and plain digit runs are not phones.
/// </description></item>
/// </list>
/// <para>
/// The order is fixed because the shapes overlap: e-mail addresses first (their local parts may hold digits), then
/// IBANs (their digit groups look like cards), then cards, then phones (a card's groups look like a phone). Digits are
/// ASCII digits only.
/// </para>
/// </remarks>
public static partial class PiiRedactor
{
    /// <summary>What an e-mail address is replaced with.</summary>
    public const string EmailToken = "[EMAIL]";

    /// <summary>What a phone number is replaced with.</summary>
    public const string PhoneToken = "[PHONE]";

    /// <summary>What a payment card number is replaced with.</summary>
    public const string CardToken = "[CARD]";

    /// <summary>What an IBAN is replaced with.</summary>
    public const string IbanToken = "[IBAN]";

    private delegate bool Confirm(ReadOnlySpan<char> candidate, out int start, out int length);

    /// <summary>Returns <paramref name="text"/> with personal data replaced, and how many items of each kind were.</summary>
    /// <returns>The same string instance when nothing was found.</returns>
    public static string Redact(string text, out PiiRedactionCounts counts)
    {
        ArgumentNullException.ThrowIfNull(text);
        int email = 0, iban = 0, card = 0, phone = 0;
        string result = text;
        if (result.Contains('@', StringComparison.Ordinal))
        {
            result = Replace(result, EmailCandidate(), EmailToken, All, examinesWholeCandidate: true, ref email);
        }

        // Every other kind needs digits; most text has none, and then no pattern needs to run.
        if (result.AsSpan().ContainsAnyInRange('0', '9'))
        {
            result = Replace(result, IbanCandidate(), IbanToken, FindIban, examinesWholeCandidate: false, ref iban);
            result = Replace(result, CardCandidate(), CardToken, FindCard, examinesWholeCandidate: true, ref card);
            result = Replace(result, PhoneCandidate(), PhoneToken, IsPhone, examinesWholeCandidate: false, ref phone);
        }

        counts = email + iban + card + phone == 0 ? PiiRedactionCounts.None : new PiiRedactionCounts(email, phone, card, iban);
        return result;
    }

    // examinesWholeCandidate: whether `confirm` looks at every place in the candidate where a match could start. If it
    // does, a rejected candidate is skipped whole, which keeps a long run of digit groups linear; if not, the search
    // resumes one character in (the patterns that need this are bounded in length, so that stays linear too).
    private static string Replace(string text, Regex candidates, string token, Confirm confirm, bool examinesWholeCandidate, ref int count)
    {
        StringBuilder? redacted = null;
        int copied = 0;
        int position = 0;
        while (position < text.Length)
        {
            var matches = candidates.EnumerateMatches(text, position);
            if (!matches.MoveNext())
            {
                break;
            }

            var match = matches.Current;
            if (confirm(text.AsSpan(match.Index, match.Length), out int start, out int length))
            {
                start += match.Index;
                redacted ??= new StringBuilder(text.Length);
                redacted.Append(text, copied, start - copied).Append(token);
                copied = position = start + length;
                count++;
            }
            else
            {
                // Otherwise the candidate may overlap a real one that starts later (an IBAN after a capitalised word).
                position = examinesWholeCandidate ? match.Index + match.Length : match.Index + 1;
            }
        }

        return redacted is null ? text : redacted.Append(text, copied, text.Length - copied).ToString();
    }

    private static bool All(ReadOnlySpan<char> candidate, out int start, out int length)
    {
        start = 0;
        length = candidate.Length;
        return true;
    }

    /// <summary>The longest prefix ending at a space or the end that is 15–34 characters and passes mod-97.</summary>
    private static bool FindIban(ReadOnlySpan<char> candidate, out int start, out int length)
    {
        start = 0;
        for (int end = candidate.Length; end > 0; end = candidate[..end].LastIndexOf(' '))
        {
            var prefix = candidate[..end];
            int characters = prefix.Length - prefix.Count(' ');
            if (characters is >= 15 and <= 34 && PassesMod97(prefix))
            {
                length = end;
                return true;
            }
        }

        length = 0;
        return false;
    }

    private static bool PassesMod97(ReadOnlySpan<char> iban)
    {
        // ISO 13616: move the country code and check digits to the end, read letters as 10–35, and the number must
        // leave 1 when divided by 97. Folding digit by digit keeps the arithmetic in an int.
        int remainder = 0;
        for (int i = 0; i < iban.Length; i++)
        {
            char c = iban[(i + 4) % iban.Length];
            if (c == ' ')
            {
                continue;
            }

            remainder = char.IsAsciiDigit(c)
                ? ((remainder * 10) + (c - '0')) % 97
                : ((remainder * 100) + (c - 'A' + 10)) % 97;
        }

        return remainder == 1;
    }

    /// <summary>
    /// The first run of consecutive groups, longest first, that holds 13–19 digits, has no short group but the last,
    /// and passes Luhn.
    /// </summary>
    private static bool FindCard(ReadOnlySpan<char> candidate, out int start, out int length)
    {
        for (int first = 0; first < candidate.Length;)
        {
            int digits = 0;
            int best = -1;
            for (int groupStart = first; groupStart < candidate.Length;)
            {
                int groupEnd = groupStart;
                while (groupEnd < candidate.Length && char.IsAsciiDigit(candidate[groupEnd]))
                {
                    groupEnd++;
                }

                digits += groupEnd - groupStart;
                if (digits > 19)
                {
                    break;
                }

                if (digits >= 13 && PassesLuhn(candidate[first..groupEnd]))
                {
                    best = groupEnd;
                }

                if (groupEnd - groupStart < 4)
                {
                    break;
                }

                groupStart = groupEnd + 1;
            }

            if (best >= 0)
            {
                start = first;
                length = best - first;
                return true;
            }

            int nextSeparator = candidate[first..].IndexOfAny(' ', '-');
            if (nextSeparator < 0)
            {
                break;
            }

            first += nextSeparator + 1;
        }

        start = length = 0;
        return false;
    }

    private static bool PassesLuhn(ReadOnlySpan<char> number)
    {
        int sum = 0;
        bool doubled = false;
        for (int i = number.Length - 1; i >= 0; i--)
        {
            if (!char.IsAsciiDigit(number[i]))
            {
                continue;
            }

            int digit = number[i] - '0';
            if (doubled)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
            doubled = !doubled;
        }

        return sum % 10 == 0;
    }

    private static bool IsPhone(ReadOnlySpan<char> candidate, out int start, out int length)
    {
        start = 0;
        length = candidate.Length;
        int digits = 0;
        foreach (char c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
        }

        // E.164 caps a number at 15 digits; national forms need 9 so that dates and ranges stay out.
        return digits <= 15 && digits >= (candidate[0] == '+' ? 7 : 9);
    }

    [GeneratedRegex(
        @"(?<![\p{L}\p{N}._%+\-])(?>[\p{L}\p{N}._%+\-]+)@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+\p{L}{2,}(?![\p{L}\p{N}_\-])",
        RegexOptions.CultureInvariant)]
    private static partial Regex EmailCandidate();

    [GeneratedRegex(@"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex IbanCandidate();

    [GeneratedRegex(@"(?<![\p{L}\p{N}+])(?>[0-9]+(?:[ \-][0-9]+)*)(?![\p{L}\p{N}])", RegexOptions.CultureInvariant)]
    private static partial Regex CardCandidate();

    [GeneratedRegex(
        """
        (?<![\p{L}\p{N}+])
        (?:
            \+[0-9]{1,3}(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,7}
          | \([0-9]{2,4}\)[ .\-]?[0-9]{3,4}[ .\-]?[0-9]{3,4}
          | [0-9]{3}(?<separator>[ .\-])[0-9]{3}\k<separator>[0-9]{4}
          | 0[0-9]{1,4}(?<trunkSeparator>[ \-])[0-9]{2,4}(?:\k<trunkSeparator>[0-9]{2,4}){1,3}
        )
        (?![\p{L}\p{N}])
        """,
        RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex PhoneCandidate();
}

/// <summary>How many items of personal data of each kind were replaced.</summary>
/// <param name="Email">E-mail addresses replaced with <see cref="PiiRedactor.EmailToken"/>.</param>
/// <param name="Phone">Phone numbers replaced with <see cref="PiiRedactor.PhoneToken"/>.</param>
/// <param name="Card">Payment card numbers replaced with <see cref="PiiRedactor.CardToken"/>.</param>
/// <param name="Iban">IBANs replaced with <see cref="PiiRedactor.IbanToken"/>.</param>
public sealed record PiiRedactionCounts(int Email, int Phone, int Card, int Iban)
{
    /// <summary>Nothing redacted.</summary>
    public static PiiRedactionCounts None { get; } = new(0, 0, 0, 0);

    /// <summary>All kinds together.</summary>
    public int Total => Email + Phone + Card + Iban;
}
