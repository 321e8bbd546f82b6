using System.Text;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class DatasetRowReaderTests
{
    [Fact]
    public async Task Rows_are_read_in_file_order_ignoring_blank_lines_and_other_properties()
    {
        var rows = await ReadAsync("{\"text\":\"a\",\"label\":\"x\"}\n\n{\"label\":\"y\",\"extra\":[1],\"text\":\"b\"}\r\n{\"text\":\"c\",\"label\":\"x\"}");

        Assert.Equal([new LabelledText("a", "x"), new LabelledText("b", "y"), new LabelledText("c", "x")], rows);
    }

    [Theory]
    [InlineData("{\"text\":\"a\"}")]
    [InlineData("{\"text\":\"a\",\"label\":1}")]
    [InlineData("{\"text\":\"a\",\"label\":\"x\"")]
    [InlineData("[1,2]")]
    public async Task A_damaged_line_throws_naming_its_line(string damaged)
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync($"{{\"text\":\"ok\",\"label\":\"x\"}}\n{damaged}\n"));

        Assert.Contains("Line 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_stops_when_cancelled()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var row in DatasetRowReader.ReadAsync(new MemoryStream("{\"text\":\"a\",\"label\":\"x\"}\n"u8.ToArray()), cancellation.Token))
            {
                Assert.Fail($"Read {row} after cancellation.");
            }
        });
    }

    private static async Task<List<LabelledText>> ReadAsync(string content)
    {
        var rows = new List<LabelledText>();
        await foreach (var row in DatasetRowReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(content))))
        {
            rows.Add(row);
        }

        return rows;
    }
}
