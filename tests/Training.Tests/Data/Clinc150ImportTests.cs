using System.Diagnostics;
using TextClassification.TestSupport;
using TextClassification.Training.Data;

namespace TextClassification.Training.Tests.Data;

public sealed class Clinc150ImportTests
{
    [Fact]
    public async Task The_clinc150_training_set_imports_as_15100_rows_and_151_labels()
    {
        string path = Path.Combine(RepositoryPaths.SharedDatasets, "clinc150", "train.csv");
        Assert.True(File.Exists(path), $"The CLINC150 training set is missing: {path}");

        await using var source = File.OpenRead(path);
        using var output = new MemoryStream();
        var watch = Stopwatch.StartNew();
        var result = await DatasetImporter.ImportAsync(source, Path.GetFileName(path), new DatasetImportOptions(), output);
        watch.Stop();

        Assert.False(result.IsRejected, string.Join("; ", result.Errors.Select(e => e.Message)));
        Assert.Equal(DatasetFormat.Csv, result.Format);
        Assert.Equal(15_100, result.RowCount);
        Assert.Equal(151, result.Labels.Count);
        Assert.All(result.Labels, label => Assert.Equal(100, label.Count));
        Assert.Equal(0, result.RowsSkipped);
        Assert.Equal(0, result.DuplicatesRemoved);

        output.Position = 0;
        int read = 0;
        await foreach (var row in DatasetRowReader.ReadAsync(output))
        {
            Assert.False(string.IsNullOrWhiteSpace(row.Text));
            read++;
        }

        Assert.Equal(15_100, read);
        // A loose bound for a shared, slow machine: a regression to quadratic work would blow far past it.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"Importing took {watch.Elapsed}.");
    }
}
