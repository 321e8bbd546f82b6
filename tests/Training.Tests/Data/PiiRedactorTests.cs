using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class PiiRedactorTests
{
    [Theory]
    [InlineData("write to jane.doe+news@example.co.uk today", "write to [EMAIL] today")]
    [InlineData("Mail: bob_99@mail-server.example.com.", "Mail: [EMAIL].")]
    [InlineData("用户 zhang.wei@例子.中国 联系", "用户 [EMAIL] 联系")]
    [InlineData("a@b.co and c@d.org", "[EMAIL] and [EMAIL]")]
    public void Email_addresses_are_replaced(string text, string expected) =>
        Assert.Equal(expected, PiiRedactor.Redact(text, out _));

    [Theory]
    [InlineData("meet me @ noon")]
    [InlineData("user@localhost is not an address")]
    [InlineData("the @handle and a@ sign")]
    public void Things_that_are_not_email_addresses_are_kept(string text) =>
        Assert.Same(text, PiiRedactor.Redact(text, out _));

    [Theory]
    [InlineData("card 4111 1111 1111 1111 expires", "card [CARD] expires")]
    [InlineData("card 4111-1111-1111-1111.", "card [CARD].")]
    [InlineData("4111111111111111", "[CARD]")]
    [InlineData("amex 3782 822463 10005 ok", "amex [CARD] ok")]
    [InlineData("order 123 4111 1111 1111 1111", "order 123 [CARD]")]
    [InlineData("visa 4222222222222 (13 digits)", "visa [CARD] (13 digits)")]
    public void Luhn_valid_card_numbers_are_replaced(string text, string expected) =>
        Assert.Equal(expected, PiiRedactor.Redact(text, out _));

    [Theory]
    [InlineData("card 4111 1111 1111 1112 fails Luhn")]
    [InlineData("tracking 1234567890123")]
    [InlineData("id 41111111111111111111111 is too long")]
    [InlineData("ref ABC4111111111111111 is glued to letters")]
    [InlineData("dates 2024-01-15 2024-02-15 2024-03-15")]
    public void Digit_runs_that_fail_the_card_rules_are_kept(string text) =>
        Assert.Equal(text, PiiRedactor.Redact(text, out _));

    [Theory]
    [InlineData("pay to GB82 WEST 1234 5698 7654 32 please", "pay to [IBAN] please")]
    [InlineData("IBAN: GB82WEST12345698765432", "IBAN: [IBAN]")]
    [InlineData("DE89 3704 0044 0532 0130 00 AND THANKS", "[IBAN] AND THANKS")]
    [InlineData("FR1420041010050500013M02606", "[IBAN]")]
    [InlineData("NL91ABNA0417164300, then", "[IBAN], then")]
    public void Iban_numbers_passing_mod_97_are_replaced(string text, string expected) =>
        Assert.Equal(expected, PiiRedactor.Redact(text, out _));

    [Theory]
    [InlineData("pay to GB83 WEST 1234 5698 7654 32 please")]
    [InlineData("DE88370400440532013000")]
    [InlineData("code AB12 CDEF GHIJ KLMN")]
    public void Iban_lookalikes_failing_mod_97_are_kept(string text) =>
        Assert.DoesNotContain("[IBAN]", PiiRedactor.Redact(text, out _), StringComparison.Ordinal);

    [Theory]
    [InlineData("call +44 20 7946 0958 now", "call [PHONE] now")]
    [InlineData("call (555) 123-4567", "call [PHONE]")]
    [InlineData("call 555-123-4567.", "call [PHONE].")]
    [InlineData("call 555.123.4567 or 555 123 4567", "call [PHONE] or [PHONE]")]
    [InlineData("US +1-555-123-4567", "US [PHONE]")]
    [InlineData("+1 (555) 123-4567", "[PHONE]")]
    [InlineData("London 020 7946 0958", "London [PHONE]")]
    [InlineData("Paris +33 1 23 45 67 89", "Paris [PHONE]")]
    [InlineData("compact +442079460958", "compact [PHONE]")]
    public void Phone_numbers_are_replaced(string text, string expected) =>
        Assert.Equal(expected, PiiRedactor.Redact(text, out _));

    [Theory]
    [InlineData("I was born in 1987 and have 3 items")]
    [InlineData("order 12345678 shipped")]
    [InlineData("between 100-1000 units")]
    [InlineData("on 2024-01-15 at 10:30")]
    [InlineData("on 05-06-2024 and 01.02.2024")]
    [InlineData("pi is 3.14159 and e is 2.71828")]
    [InlineData("server 192.168.100.200")]
    [InlineData("version 1.2.3 costs $1,234,567")]
    [InlineData("room 555-1234")]
    public void Ordinary_numbers_are_not_phone_numbers(string text) =>
        Assert.Equal(text, PiiRedactor.Redact(text, out _));

    [Fact]
    public void Counts_are_kept_by_kind()
    {
        string redacted = PiiRedactor.Redact(
            "a@b.co, c@d.org, 4111 1111 1111 1111, GB82 WEST 1234 5698 7654 32, +44 20 7946 0958", out var counts);

        Assert.Equal("[EMAIL], [EMAIL], [CARD], [IBAN], [PHONE]", redacted);
        Assert.Equal(new PiiRedactionCounts(Email: 2, Phone: 1, Card: 1, Iban: 1), counts);
        Assert.Equal(5, counts.Total);
    }

    [Fact]
    public void Text_without_personal_data_is_returned_as_is()
    {
        const string Text = "just words, 中文 and 😀";

        Assert.Same(Text, PiiRedactor.Redact(Text, out var counts));
        Assert.Equal(0, counts.Total);
    }

    [Fact]
    public async Task The_importer_redacts_text_but_not_labels_and_counts_what_it_replaced()
    {
        var options = new DatasetImportOptions { RedactPii = true };
        var outcome = await Importing.ImportAsync(
            "text,label\n" +
            "\"mail me at a@b.co or call 555-123-4567\",contact\n" +
            "my card is 4111 1111 1111 1111,a@b.co\n" +
            "nothing here,contact\n",
            options: options);

        Assert.Equal(["mail me at [EMAIL] or call [PHONE]", "my card is [CARD]", "nothing here"], outcome.Texts);
        Assert.Equal("a@b.co", outcome.Rows[1].Label);
        Assert.Equal(new PiiRedactionCounts(1, 1, 1, 0), outcome.Result.Pii);
    }

    [Fact]
    public async Task Without_the_option_nothing_is_redacted()
    {
        var outcome = await Importing.ImportAsync("text,label\nmail a@b.co,x\ncall 555-123-4567,y\n");

        Assert.Equal(["mail a@b.co", "call 555-123-4567"], outcome.Texts);
        Assert.Equal(0, outcome.Result.Pii.Total);
    }

    [Fact]
    public async Task Redaction_happens_before_dedupe_so_rows_that_differ_only_in_personal_data_merge()
    {
        var options = new DatasetImportOptions { RedactPii = true };
        var outcome = await Importing.ImportAsync(
            "text,label\ncall me on 555-123-4567,callback\ncall me on 555-987-6543,callback\nbye,leave\n", options: options);

        Assert.Equal(["call me on [PHONE]", "bye"], outcome.Texts);
        Assert.Equal(1, outcome.Result.DuplicatesRemoved);
        Assert.Equal(1, outcome.Result.Pii.Phone);
    }
}
