using System.Text;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class NormalizationAndDedupeTests
{
    [Fact]
    public async Task Exact_duplicates_of_text_and_label_are_removed_and_counted()
    {
        var outcome = await Importing.ImportAsync(
            "text,label\nhello,a\nhello,a\nhello,b\nHello,a\n  hello  ,a\n\"hello\",a\nbye,b\n");

        Assert.Equal([new LabelledText("hello", "a"), new LabelledText("hello", "b"), new LabelledText("Hello", "a"), new LabelledText("bye", "b")], outcome.Rows);
        Assert.Equal(3, outcome.Result.DuplicatesRemoved);
        Assert.Equal(4, outcome.Result.RowCount);
        Assert.Equal(0, outcome.Result.RowsSkipped);
    }

    [Fact]
    public async Task Dedupe_can_be_turned_off()
    {
        var outcome = await Importing.ImportAsync("text,label\nhello,a\nhello,a\nbye,b\n", options: new DatasetImportOptions { Dedupe = false });

        Assert.Equal(3, outcome.Result.RowCount);
        Assert.Equal(0, outcome.Result.DuplicatesRemoved);
    }

    [Fact]
    public async Task Text_is_trimmed_at_the_ends_but_keeps_its_inner_white_space()
    {
        var outcome = await Importing.ImportAsync("text,label\n\"\u3000 two  spaces\tand a tab \n\",a\n\u00A0nbsp\u00A0,b\n");

        Assert.Equal(["two  spaces\tand a tab", "nbsp"], outcome.Texts);
    }

    [Fact]
    public async Task Text_is_stored_in_NFC_so_composed_and_decomposed_accents_are_duplicates()
    {
        string composed = "caf\u00E9";
        string decomposed = "cafe\u0301";

        var outcome = await Importing.ImportAsync($"text,label\n{decomposed},drink\n{composed},drink\nother,food\n");

        Assert.Equal([composed, "other"], outcome.Texts);
        Assert.Equal(1, outcome.Result.DuplicatesRemoved);
        Assert.Equal(4, outcome.Result.TextLength.Min);
    }

    [Fact]
    public async Task Chinese_emoji_Arabic_and_Hebrew_text_round_trips_unchanged_and_unescaped()
    {
        LabelledText[] rows =
        [
            new("我的银行卡被冻结了，怎么办？", "冻结"),
            new("Family 👨‍👩‍👧‍👦, flag 🇯🇵, thumbs 👍🏽 and 😀", "emoji"),
            new("مرحبا، كيف حالك؟", "تحية"),
            new("שלום, מה שלומך?", "ברכה"),
            new("mixed: English עברית العربية 中文 \"quoted\" back\\slash", "mixed"),
        ];
        var csv = new StringBuilder("text,label\n");
        var jsonl = new StringBuilder();
        foreach (var row in rows)
        {
            csv.Append('"').Append(row.Text.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\",").Append(row.Label).Append('\n');
            jsonl.Append(System.Text.Json.JsonSerializer.Serialize(new { text = row.Text, label = row.Label })).Append('\n');
        }

        var fromCsv = await Importing.ImportAsync(csv.ToString(), "data.csv");
        var fromJsonl = await Importing.ImportAsync(jsonl.ToString(), "data.jsonl");

        Assert.Equal(rows, fromCsv.Rows);
        Assert.Equal(rows, fromJsonl.Rows);
        Assert.Equal(fromCsv.Output, fromJsonl.Output);
        Assert.Contains("👨‍👩‍👧‍👦", fromCsv.OutputText, StringComparison.Ordinal);
        Assert.Contains("مرحبا", fromCsv.OutputText, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", fromCsv.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_output_is_one_json_object_per_line_escaping_only_what_json_requires()
    {
        var outcome = await Importing.ImportAsync("text,label\n\"say \"\"hi\"\"\nnext\\line\u0001\",a\nb,b\n");

        Assert.Equal("{\"text\":\"say \\\"hi\\\"\\nnext\\\\line\\u0001\",\"label\":\"a\"}\n{\"text\":\"b\",\"label\":\"b\"}\n", outcome.OutputText);
    }

    [Fact]
    public async Task The_profile_counts_labels_and_measures_text_in_characters()
    {
        var outcome = await Importing.ImportAsync("text,label\nab,x\nabcd,y\n😀😀😀,y\nabcdef,z\nq,y\n");

        Assert.Equal(
            [new DatasetLabelCount("y", 3), new DatasetLabelCount("x", 1), new DatasetLabelCount("z", 1)],
            outcome.Result.Labels);
        Assert.Equal(new TextLengthStatistics(1, 16 / 5.0, 6), outcome.Result.TextLength);
        Assert.Equal(5, outcome.Result.RowCount);
    }

    [Fact]
    public async Task The_quality_report_counts_texts_by_length_in_characters_in_fixed_buckets()
    {
        var outcome = await Importing.ImportAsync("text,label\nab,x\n😀😀😀😀😀😀😀😀😀😀😀,y\n" + new string('a', 2500) + ",y\n");

        var lengths = outcome.Result.Quality!.TextLengths!;
        Assert.Equal(DatasetQualityReport.TextLengthBucketStarts, lengths.Select(b => b.From));
        Assert.Equal(new TextLengthBucket(0, 10, 1), lengths[0]);
        // Eleven emoji are eleven characters, though twenty-two UTF-16 units.
        Assert.Equal(new TextLengthBucket(10, 20, 1), lengths[1]);
        Assert.Equal(new TextLengthBucket(2000, null, 1), lengths[^1]);
        Assert.Equal(3, lengths.Sum(b => b.Count));
    }

    [Fact]
    public async Task Lengths_in_the_profile_are_of_the_stored_redacted_text()
    {
        var outcome = await Importing.ImportAsync(
            "text,label\nx 4111 1111 1111 1111,a\nshort,b\n", options: new DatasetImportOptions { RedactPii = true });

        Assert.Equal(["x [CARD]", "short"], outcome.Texts);
        Assert.Equal(8, outcome.Result.TextLength.Max);
    }
}
