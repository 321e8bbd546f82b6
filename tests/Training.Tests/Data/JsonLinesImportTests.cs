using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class JsonLinesImportTests
{
    [Fact]
    public async Task Json_lines_are_recognised_by_extension_or_by_a_first_line_that_opens_an_object()
    {
        const string Content = "\n  {\"text\":\"hello\",\"label\":\"a\"}\n{\"text\":\"bye\",\"label\":\"b\"}\n";

        foreach (string? name in new[] { "data.jsonl", "data.ndjson", "data.csv", "data.txt", null })
        {
            var outcome = await Importing.ImportAsync(Content, name);
            Assert.Equal(DatasetFormat.JsonLines, outcome.Result.Format);
            Assert.Equal([new LabelledText("hello", "a"), new LabelledText("bye", "b")], outcome.Rows);
        }
    }

    [Fact]
    public async Task Malformed_lines_are_skipped_with_their_line_numbers()
    {
        var outcome = await Importing.ImportAsync(
            "{\"text\":\"one\",\"label\":\"a\"}\n" +         // 1
            "{\"text\":\"broken\",\"label\":\n" +             // 2: truncated
            "\n" +                                             // 3: blank, ignored
            "[\"an\",\"array\"]\n" +                           // 4: not an object
            "{\"text\":42,\"label\":\"a\"}\n" +                // 5: text is a number
            "{\"text\":\"x\",\"label\":true}\n" +              // 6: boolean label
            "{\"text\":\"two\",\"label\":\"b\"} trailing\n" +  // 7: text after the object
            "{\"label\":\"b\"}\n" +                            // 8: no text
            "{\"text\":\"three\",\"label\":null}\n" +          // 9: null label
            "{\"text\":\"four\",\"label\":\"b\"}\n",           // 10
            "data.jsonl");

        Assert.False(outcome.Result.IsRejected);
        Assert.Equal(["one", "four"], outcome.Texts);
        Assert.Equal([2L, 4, 5, 6, 7, 8, 9], outcome.ProblemLines);
        Assert.Equal(7, outcome.Result.RowsSkipped);
        var messages = outcome.Result.Problems.Select(p => p.Message).ToList();
        Assert.Contains("not valid JSON", messages[0], StringComparison.Ordinal);
        Assert.Contains("not an object", messages[1], StringComparison.Ordinal);
        Assert.Contains("must be a string, not a number", messages[2], StringComparison.Ordinal);
        Assert.Contains("not a boolean", messages[3], StringComparison.Ordinal);
        Assert.Contains("not valid JSON", messages[4], StringComparison.Ordinal);
        Assert.Contains("'text'", messages[5], StringComparison.Ordinal);
        Assert.Contains("'label'", messages[6], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Numeric_labels_are_kept_as_written()
    {
        var outcome = await Importing.ImportAsync(
            "{\"text\":\"one\",\"label\":1}\n{\"text\":\"two\",\"label\":2.0}\n{\"text\":\"three\",\"label\":\"1\"}\n", "data.jsonl");

        Assert.Equal(["1", "2.0", "1"], outcome.Rows.Select(r => r.Label));
        Assert.Equal([new DatasetLabelCount("1", 2), new DatasetLabelCount("2.0", 1)], outcome.Result.Labels);
    }

    [Fact]
    public async Task Properties_match_ignoring_case_and_other_properties_are_ignored()
    {
        var outcome = await Importing.ImportAsync(
            "{\"id\":1,\"Text\":\"hello\",\"meta\":{\"text\":\"nested\"},\"LABEL\":\"a\"}\n{\"text\":\"bye\",\"label\":\"b\",\"tags\":[1,2]}\n",
            "data.jsonl");

        Assert.Equal([new LabelledText("hello", "a"), new LabelledText("bye", "b")], outcome.Rows);
    }

    [Fact]
    public async Task A_property_given_twice_is_a_problem()
    {
        var outcome = await Importing.ImportAsync(
            "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"text\":\"c\",\"label\":\"y\"}\n{\"text\":\"d\",\"label\":\"y\"}\n", "data.jsonl");

        Assert.Equal([2L], outcome.ProblemLines);
        Assert.Contains("more than once", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_escaped_half_surrogate_is_a_problem_but_an_escaped_pair_is_text()
    {
        var outcome = await Importing.ImportAsync(
            "{\"text\":\"bad \\ud83d here\",\"label\":\"a\"}\n{\"text\":\"smile \\ud83d\\ude00\",\"label\":\"a\"}\n{\"text\":\"x\",\"label\":\"b\"}\n",
            "data.jsonl");

        Assert.Equal([1L], outcome.ProblemLines);
        Assert.Equal("smile 😀", outcome.Texts[0]);
    }

    [Fact]
    public async Task A_first_object_without_the_label_property_rejects_the_upload_listing_its_properties()
    {
        var outcome = await Importing.ImportAsync(
            "not json\n{\"text\":\"hello\",\"intent\":\"a\"}\n{\"text\":\"bye\",\"intent\":\"b\"}\n", "data.jsonl");

        Assert.True(outcome.Result.IsRejected);
        var error = Assert.Single(outcome.Result.Errors);
        Assert.Equal("label", error.Field);
        Assert.Equal(2, error.Line);
        Assert.Contains("'label'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'text', 'intent'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Line_numbers_count_CRLF_lines()
    {
        var outcome = await Importing.ImportAsync(
            "{\"text\":\"one\",\"label\":\"a\"}\r\n\r\n{oops}\r\n{\"text\":\"two\",\"label\":\"b\"}\r\n", "data.jsonl");

        Assert.Equal([3L], outcome.ProblemLines);
        Assert.Equal(["one", "two"], outcome.Texts);
    }

    [Fact]
    public async Task A_line_too_long_to_buffer_is_skipped_as_a_problem()
    {
        var options = new DatasetImportOptions { MaxTextLength = 1 };
        string huge = new('x', 1_200_000);

        var outcome = await Importing.ImportAsync(
            $"{{\"text\":\"a\",\"label\":\"x\"}}\n{{\"text\":\"{huge}\",\"label\":\"x\"}}\n{{\"text\":\"b\",\"label\":\"y\"}}\n",
            "data.jsonl",
            options);

        Assert.Equal([2L], outcome.ProblemLines);
        Assert.Contains("longer than", outcome.Result.Problems[0].Message, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], outcome.Texts);
    }
}
