using System.Text.Json;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Data;
using TextClassification.Training.Loop;

namespace TextClassification.Api.Contracts;

/// <summary>A dataset as the API shows it.</summary>
public sealed record DatasetResponse(
    string Id,
    string Object,
    string Name,
    string Format,
    string Status,
    int RowCount,
    int RowsSkipped,
    int DuplicatesRemoved,
    PiiRedactedResponse PiiRedacted,
    IReadOnlyList<LabelCount> Labels,
    TextLengthSummary TextLength,
    string Sha256,
    long SizeBytes,
    IReadOnlyList<RowProblem> Problems,
    DatasetQualityReport? Quality,
    DateTimeOffset CreatedAt,
    bool TextOnly = false)
{
    public static DatasetResponse From(Dataset dataset) => new(
        dataset.Id,
        "dataset",
        dataset.Name,
        dataset.Format,
        dataset.Status.ToString().ToLowerInvariant(),
        dataset.RowCount,
        dataset.RowsSkipped,
        dataset.DuplicatesRemoved,
        new PiiRedactedResponse(dataset.PiiRedacted.Email, dataset.PiiRedacted.Phone, dataset.PiiRedacted.Card,
            dataset.PiiRedacted.Iban, dataset.PiiRedacted.Total),
        dataset.Labels,
        dataset.TextLength,
        dataset.Sha256,
        dataset.SizeBytes,
        dataset.Problems,
        QualityOf(dataset),
        dataset.CreatedAt,
        dataset.TextOnly);

    /// <summary>The stored quality report; null for a dataset uploaded before reports existed.</summary>
    public static DatasetQualityReport? QualityOf(Dataset dataset) =>
        dataset.QualityJson is null ? null : JsonSerializer.Deserialize<DatasetQualityReport>(dataset.QualityJson, TrainingJson.Options);
}

/// <summary>How many personal data items of each kind were replaced by placeholder tokens.</summary>
public sealed record PiiRedactedResponse(int Email, int Phone, int Card, int Iban, int Total);

/// <summary>One page of a list, newest first; pass the last item's id as <c>after</c> for the next page.</summary>
public sealed record ListResponse<T>(IReadOnlyList<T> Data, bool HasMore, string Object = "list");

/// <summary>One row of a dataset as stored (after redaction and normalization).</summary>
public sealed record DatasetRowResponse(string Text, string Label);

/// <summary>A window of a dataset's rows.</summary>
public sealed record DatasetRowsResponse(IReadOnlyList<DatasetRowResponse> Data, int Total, int Offset, int Limit);
