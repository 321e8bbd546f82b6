using System.Text;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

/// <summary>Runs the importer over in-memory content and reads back what it wrote.</summary>
internal static class Importing
{
    public static Task<ImportOutcome> ImportAsync(string content, string? fileName = "data.csv", DatasetImportOptions? options = null) =>
        ImportAsync(Encoding.UTF8.GetBytes(content), fileName, options);

    public static async Task<ImportOutcome> ImportAsync(byte[] content, string? fileName = "data.csv", DatasetImportOptions? options = null)
    {
        using var source = new MemoryStream(content);
        using var output = new MemoryStream();
        var result = await DatasetImporter.ImportAsync(source, fileName, options ?? new DatasetImportOptions(), output);
        byte[] written = output.ToArray();
        var rows = new List<LabelledText>();
        await foreach (var row in DatasetRowReader.ReadAsync(new MemoryStream(written)))
        {
            rows.Add(row);
        }

        return new ImportOutcome(result, rows, written);
    }
}

internal sealed record ImportOutcome(DatasetImportResult Result, List<LabelledText> Rows, byte[] Output)
{
    public List<string> Texts => Rows.Select(r => r.Text).ToList();

    public List<long> ProblemLines => Result.Problems.Select(p => p.Line).ToList();

    public string OutputText => Encoding.UTF8.GetString(Output);
}
