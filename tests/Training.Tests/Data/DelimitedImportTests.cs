using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class DelimitedImportTests
{
    [Fact]
    public async Task Quoted_fields_keep_their_commas_doubled_quotes_and_line_breaks()
    {
        var outcome = await Importing.ImportAsync(
            "text,label\n" +
            "\"one, two, three\",count\n" +
            "\"she said \"\"hi\"\" twice\",quote\n" +
            "\"first line\nsecond line\",multi\n" +
            "plain,count\n");

        Assert.False(outcome.Result.IsRejected);
        Assert.Equal(DatasetFormat.Csv, outcome.Result.Format);
        Assert.Equal(["one, two, three", "she said \"hi\" twice", "first line\nsecond line", "plain"], outcome.Texts);
        Assert.Equal(["count", "quote", "multi", "count"], outcome.Rows.Select(r => r.Label));
    }

    [Fact]
    public async Task A_byte_order_mark_and_CRLF_line_ends_are_not_part_of_the_values()
    {
        byte[] content = [0xEF, 0xBB, 0xBF, .. "text,label\r\nhello,greet\r\n\"two\r\nlines\",multi\r\n\"quoted\",greet\r\n"u8];

        var outcome = await Importing.ImportAsync(content);

        Assert.False(outcome.Result.IsRejected);
        Assert.Equal(["hello", "two\r\nlines", "quoted"], outcome.Texts);
        Assert.Equal(["greet", "multi", "greet"], outcome.Rows.Select(r => r.Label));
    }

    [Fact]
    public async Task Header_names_match_trimmed_and_ignoring_case_and_extra_columns_are_ignored()
    {
        var outcome = await Importing.ImportAsync(" Id , TEXT ,Label,notes\n1,hello,a,x\n2,bye,b,\"y, z\"\n");

        Assert.False(outcome.Result.IsRejected);
        Assert.Equal([new LabelledText("hello", "a"), new LabelledText("bye", "b")], outcome.Rows);
    }

    [Fact]
    public async Task Custom_column_names_are_read()
    {
        var options = new DatasetImportOptions { TextColumn = "utterance", LabelColumn = "intent" };

        var outcome = await Importing.ImportAsync("intent,utterance\ngreet,hello\nleave,bye\n", options: options);

        Assert.Equal([new LabelledText("hello", "greet"), new LabelledText("bye", "leave")], outcome.Rows);
    }

    [Fact]
    public async Task A_row_with_a_different_number_of_fields_is_skipped_with_the_line_it_starts_on()
    {
        var outcome = await Importing.ImportAsync(
            "text,label\n" +
            "ok,a\n" +
            "\"spans\ntwo lines\",b\n" +
            "too,many,fields\n" +
            "\"also\nspans\",b,extra\n" +
            "toofew\n" +
            "fine,b\n");

        Assert.Equal(3, outcome.Result.RowsSkipped);
        Assert.Equal([5L, 6, 8], outcome.ProblemLines);
        Assert.Contains("3 fields", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("header has 2", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
        Assert.Equal(["ok", "spans\ntwo lines", "fine"], outcome.Texts);
    }

    [Fact]
    public async Task Blank_lines_are_ignored_and_not_counted()
    {
        var outcome = await Importing.ImportAsync("\n\ntext,label\n\nhello,a\n   \n\r\nbye,b\n\n");

        Assert.Equal(2, outcome.Result.RowCount);
        Assert.Equal(0, outcome.Result.RowsSkipped);
    }

    [Fact]
    public async Task The_last_row_needs_no_line_break_after_it()
    {
        var outcome = await Importing.ImportAsync("text,label\nhello,a\n\"bye\",b");

        Assert.Equal([new LabelledText("hello", "a"), new LabelledText("bye", "b")], outcome.Rows);
    }

    [Fact]
    public async Task A_stray_quote_after_a_closing_quote_makes_the_row_a_problem()
    {
        var outcome = await Importing.ImportAsync("text,label\n\"he said \"hi\" there\",a\nok,a\nfine,b\n");

        Assert.Equal(1, outcome.Result.RowsSkipped);
        Assert.Equal(2, outcome.Result.Problems[0].Line);
        Assert.Contains("closing quote", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quote_inside_an_unquoted_field_is_kept_as_a_character()
    {
        var outcome = await Importing.ImportAsync("text,label\na 5\" screen,tv\nplain,other\n");

        Assert.Equal("a 5\" screen", outcome.Texts[0]);
    }

    [Fact]
    public async Task Empty_text_and_empty_label_are_problems_naming_the_column()
    {
        var outcome = await Importing.ImportAsync("text,label\n   ,a\nhello,\n\"\",b\nok,a\nfine,b\n");

        Assert.Equal([2L, 3, 4], outcome.ProblemLines);
        Assert.Contains("'text'", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("'label'", outcome.Result.Problems[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tab_separated_file_is_recognised_by_its_header()
    {
        var outcome = await Importing.ImportAsync("text\tlabel\nhello, world\tgreet\n\"tab\tinside\"\tquoted\n", fileName: "upload.csv");

        Assert.Equal(DatasetFormat.Tsv, outcome.Result.Format);
        Assert.Equal([new LabelledText("hello, world", "greet"), new LabelledText("tab\tinside", "quoted")], outcome.Rows);
    }

    [Fact]
    public async Task A_tsv_extension_reads_tabs_even_when_the_header_has_commas()
    {
        var outcome = await Importing.ImportAsync("text\tlabel\tnote, with comma\nhi\ta\tx\nbye\tb\ty\n", fileName: "data.TSV");

        Assert.Equal(DatasetFormat.Tsv, outcome.Result.Format);
        Assert.Equal(["hi", "bye"], outcome.Texts);
    }

    [Fact]
    public async Task A_header_with_tabs_inside_quotes_and_commas_outside_stays_csv()
    {
        var outcome = await Importing.ImportAsync("\"te\txt\",text,label\n1,hello,a\n2,bye,b\n", fileName: null);

        Assert.Equal(DatasetFormat.Csv, outcome.Result.Format);
        Assert.Equal(2, outcome.Result.RowCount);
    }
}
