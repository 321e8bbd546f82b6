using System.Text;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class RejectionTests
{
    [Fact]
    public async Task A_binary_file_is_not_utf8_text()
    {
        byte[] content = [.. "text,label\n"u8, 0x00, 0x01, 0x02, 0xFF, .. "\nhello,a\n"u8];

        var outcome = await Importing.ImportAsync(content);

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Contains("not UTF-8 text", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("NUL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_latin1_file_is_not_utf8_text_and_the_error_names_the_line()
    {
        byte[] content = Encoding.Latin1.GetBytes("text,label\ncafé crème,food\nhello,a\n");

        var outcome = await Importing.ImportAsync(content);

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Contains("not UTF-8 text", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public async Task A_utf16_file_is_not_utf8_text()
    {
        byte[] content = [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("text,label\nhello,a\nbye,b\n")];

        var outcome = await Importing.ImportAsync(content);

        Assert.Contains("UTF-16", Assert.Single(outcome.Result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_utf8_after_the_first_kilobytes_skips_only_that_row()
    {
        var content = new List<byte>(Encoding.UTF8.GetBytes("text,label\n"));
        for (int i = 0; i < 400; i++)
        {
            content.AddRange(Encoding.UTF8.GetBytes($"row number {i} with some text,{(i % 2 == 0 ? "even" : "odd")}\n"));
        }

        content.AddRange("bad "u8.ToArray());
        content.Add(0xE9);
        content.AddRange(" byte,odd\n"u8.ToArray());
        content.AddRange("last,even\n"u8.ToArray());

        var outcome = await Importing.ImportAsync(content.ToArray());

        Assert.False(outcome.Result.IsRejected);
        Assert.Equal([402L], outcome.ProblemLines);
        Assert.Contains("not valid UTF-8", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
        Assert.Equal(401, outcome.Result.RowCount);
    }

    [Fact]
    public async Task A_missing_text_column_is_named_and_the_columns_found_are_listed()
    {
        var outcome = await Importing.ImportAsync("sentence,label\nhello,a\nbye,b\n");

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Equal("text", error.Field);
        Assert.Equal(1, error.Line);
        Assert.Contains("text column 'text' is missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("'sentence', 'label'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_label_column_is_named_and_the_columns_found_are_listed()
    {
        var outcome = await Importing.ImportAsync("text,category\nhello,a\nbye,b\n", options: new DatasetImportOptions { LabelColumn = "intent" });

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Equal("intent", error.Field);
        Assert.Contains("label column 'intent' is missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("'text', 'category'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_semicolon_separated_header_gets_a_hint()
    {
        var outcome = await Importing.ImportAsync("text;label\nhello;a\n");

        Assert.Contains("semicolons", outcome.Result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_column_named_twice_is_ambiguous()
    {
        var outcome = await Importing.ImportAsync("text,label,TEXT\nhello,a,hi\nbye,b,by\n");

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Contains("more than once", error.Message, StringComparison.Ordinal);
        Assert.Contains("columns 1 and 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unterminated_quote_names_the_line_where_it_opened()
    {
        var outcome = await Importing.ImportAsync("text,label\nhello,a\nbye,b\n\"never closed,a\nmore\nlines\n");

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Equal(4, error.Line);
        Assert.Contains("line 4", error.Message, StringComparison.Ordinal);
        Assert.Contains("unterminated quote", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unterminated_quote_in_the_header_is_reported_too()
    {
        var outcome = await Importing.ImportAsync("\"text,label\nhello,a\n");

        Assert.Equal(1, Assert.Single(outcome.Result.Errors).Line);
    }

    [Fact]
    public async Task A_file_with_no_valid_rows_is_rejected()
    {
        var outcome = await Importing.ImportAsync("text,label\n,a\nhello,\n");

        Assert.True(outcome.Result.IsRejected);
        Assert.Contains("no valid rows", outcome.Result.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal(2, outcome.Result.RowsSkipped);
    }

    [Fact]
    public async Task A_header_without_rows_is_rejected()
    {
        var outcome = await Importing.ImportAsync("text,label\n");

        Assert.Contains("no valid rows", Assert.Single(outcome.Result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_file_is_rejected()
    {
        foreach (string content in new[] { "", "  \n\r\n\n" })
        {
            var outcome = await Importing.ImportAsync(content);
            Assert.Contains("empty", Assert.Single(outcome.Result.Errors).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_single_label_is_rejected_saying_how_many_were_found()
    {
        var outcome = await Importing.ImportAsync("text,label\nhello,greet\nhi,greet\n");

        var error = Assert.Single(outcome.Result.Errors);
        Assert.Equal("label", error.Field);
        Assert.Contains("only 1 distinct label ('greet')", error.Message, StringComparison.Ordinal);
        Assert.Contains("at least 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_and_label_columns_must_differ()
    {
        var outcome = await Importing.ImportAsync("text,label\nhello,a\n", options: new DatasetImportOptions { LabelColumn = " TEXT " });

        Assert.Contains("must differ", Assert.Single(outcome.Result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Strict_mode_rejects_an_upload_that_lenient_mode_accepts_with_problems()
    {
        const string Content = "text,label\nhello,a\n,a\nbye,b\ntoo,many,fields\n";

        var lenient = await Importing.ImportAsync(Content);
        var strict = await Importing.ImportAsync(Content, options: new DatasetImportOptions { Strict = true });

        Assert.False(lenient.Result.IsRejected);
        Assert.Equal(2, lenient.Result.RowsSkipped);
        Assert.True(strict.Result.IsRejected);
        Assert.Contains("Strict mode", strict.Result.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("2 rows", strict.Result.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal(3, strict.Result.Errors[0].Line);
        Assert.Equal([3L, 5L], strict.Result.Errors.Skip(1).Select(e => e.Line!.Value));
    }

    [Fact]
    public async Task Strict_mode_accepts_a_clean_upload_and_does_not_count_duplicates_as_problems()
    {
        var outcome = await Importing.ImportAsync("text,label\nhello,a\nhello,a\nbye,b\n", options: new DatasetImportOptions { Strict = true });

        Assert.False(outcome.Result.IsRejected);
        Assert.Equal(1, outcome.Result.DuplicatesRemoved);
    }

    [Fact]
    public async Task Text_over_the_length_limit_is_a_problem_counted_in_characters_not_utf16_units()
    {
        var options = new DatasetImportOptions { MaxTextLength = 5 };
        var outcome = await Importing.ImportAsync("text,label\n😀😀😀😀😀,a\n😀😀😀😀😀😀,a\n  12345  ,b\n123456,b\n", options: options);

        Assert.Equal(["😀😀😀😀😀", "12345"], outcome.Texts);
        Assert.Equal([3L, 5L], outcome.ProblemLines);
        Assert.Contains("6 characters long; the limit is 5", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_field_far_over_the_limit_is_a_problem_without_being_held_in_memory()
    {
        var options = new DatasetImportOptions { MaxTextLength = 10 };
        string huge = new('x', 100_000);

        var outcome = await Importing.ImportAsync($"text,label\n\"{huge}\",a\nok,a\nfine,b\n", options: options);

        Assert.Equal([2L], outcome.ProblemLines);
        Assert.Contains("longer than the limit of 10", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_first_problems_are_listed_but_all_are_counted()
    {
        var text = new StringBuilder("text,label\nok,a\nfine,b\n");
        for (int i = 0; i < 30; i++)
        {
            text.Append(",a\n");
        }

        var outcome = await Importing.ImportAsync(text.ToString(), options: new DatasetImportOptions { MaxProblemsReported = 10 });

        Assert.Equal(30, outcome.Result.RowsSkipped);
        Assert.Equal(10, outcome.Result.Problems.Count);
        Assert.Equal(4, outcome.Result.Problems[0].Line);
    }
}
