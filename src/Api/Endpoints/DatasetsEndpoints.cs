using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using TextClassification.Api.Contracts;
using TextClassification.Api.Hosting;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.Distillation;
using TextClassification.Training.Data;
using TextClassification.Training.Loop;

namespace TextClassification.Api.Endpoints;

/// <summary><c>/v1/datasets</c>: upload labelled text, list, inspect, preview and delete datasets.</summary>
internal static partial class DatasetsEndpoints
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;
    private const int MaxPreviewRows = 500;
    private static readonly HashSet<string> UploadFields = ["name", "text_column", "label_column", "dedupe", "redact_pii", "strict", "text_only"];

    public static IEndpointRouteBuilder MapDatasetsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/datasets").WithTags("Datasets").RequireScope(ApiScopes.TrainPolicy);

        group.MapPost("/", UploadDataset)
            .WithName("UploadDataset")
            .WithSummary("Upload a dataset of labelled text")
            .WithDescription("""
                Multipart form: `file` (required; CSV with RFC 4180 quoting, TSV or JSONL, UTF-8 with or without BOM),
                `name`, `text_column` (default `text`), `label_column` (default `label`), `dedupe` (default true),
                `redact_pii` (default false: replace e-mail addresses, phone numbers, Luhn-valid card numbers and IBANs
                with placeholder tokens before anything is stored), `strict` (default false: reject the upload on any
                row problem instead of skipping the row) and `text_only` (default false: texts without labels, read from
                the text column alone and stored with empty labels; such a dataset feeds a distillation job's teacher as
                its `unlabelled_dataset_id` and cannot train or validate a job). The upload is streamed; files over the configured limit get 413.
                Rows with problems are skipped and counted, the first 100 reported with their line. An upload that is not
                text, lacks a column, has no valid rows or (unless `text_only`) fewer than two labels is rejected with 422 and stores nothing.
                """)
            .AddOpenApiOperationTransformer(MultipartUploadForm.Describe(
                "The dataset file and how to read it.",
                "CSV (RFC 4180), TSV or JSONL; UTF-8, optional BOM.",
                ("name", JsonSchemaType.String, "A name for the dataset; defaults to the file name.", "clinc150-train"),
                ("text_column", JsonSchemaType.String, "Column or JSON field holding the text.", "text"),
                ("label_column", JsonSchemaType.String, "Column or JSON field holding the label.", "label"),
                ("dedupe", JsonSchemaType.Boolean, "Drop rows repeating an earlier row's text and label.", true),
                ("redact_pii", JsonSchemaType.Boolean, "Replace e-mail addresses, phone numbers, card numbers and IBANs with tokens.", false),
                ("strict", JsonSchemaType.Boolean, "Reject the whole upload on any row problem.", false),
                ("text_only", JsonSchemaType.Boolean, "Texts without labels, for a distillation job's teacher to score.", false)))
            .DisableAntiforgery()
            .WithBodyLimit(RequestBodyLimit.DatasetUpload)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithResponseExample(StatusCodes.Status201Created, Examples.Dataset);

        group.MapGet("/", ListDatasets)
            .WithName("ListDatasets")
            .WithSummary("List datasets, newest first")
            .WithDescription("Cursor paging: `limit` (1–100, default 20) and `after` (the id of the last dataset of the previous page).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithParameterExample("limit", "How many datasets to return (1–100).", 20)
            .WithParameterExample("after", "Return datasets older than this id.", Examples.Dataset.Id)
            .WithResponseExample(StatusCodes.Status200OK, new ListResponse<DatasetResponse>([Examples.Dataset], false));

        group.MapGet("/{id}", GetDataset)
            .WithName("GetDataset")
            .WithSummary("Get a dataset's profile")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The dataset id.", Examples.Dataset.Id)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Dataset);

        group.MapGet("/{id}/rows", GetDatasetRows)
            .WithName("GetDatasetRows")
            .WithSummary("Preview a dataset's rows as stored")
            .WithDescription("Rows after redaction, normalization and de-duplication, in upload order: `offset` (default 0) and `limit` (1–500, default 20).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The dataset id.", Examples.Dataset.Id)
            .WithResponseExample(StatusCodes.Status200OK, new DatasetRowsResponse(
                [new DatasetRowResponse("what is my account balance", "balance"), new DatasetRowResponse("我的银行卡被冻结了", "freeze_account")], 15100, 0, 2));

        group.MapGet("/{id}/quality", GetDatasetQuality)
            .WithName("GetDatasetQuality")
            .WithSummary("A dataset's quality report")
            .WithDescription("""
                Computed at upload, in the same pass: findings with a `severity` (`error`: training on it means
                nothing; `warning`: likely to hurt; `info`), a stable `code`, a message, how many rows or labels are
                affected and up to 100 examples with their lines. Codes: `every_label_unique`,
                `label_with_few_examples` (fewer than `Datasets:MinExamplesPerLabel`), `label_imbalance` (10× or more),
                `conflicting_duplicates` (the same text under two labels), `near_duplicates_across_labels` (differing
                only in case, punctuation or spacing), `text_without_letters`, `text_very_short`,
                `text_mostly_non_letters`, `mixed_scripts`; `scripts` gives the share of rows by writing system, and
                `text_lengths` the rows by text length in characters (`from` inclusive, `to` exclusive, null for the
                open-ended last bucket; buckets start at 0, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000
                and 2000 characters), null for a dataset uploaded before histograms existed.
                404 for a dataset uploaded before reports existed.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameterExample("id", "The dataset id.", Examples.Dataset.Id)
            .WithResponseExample(StatusCodes.Status200OK, Examples.Quality);

        group.MapDelete("/{id}", DeleteDataset)
            .WithName("DeleteDataset")
            .WithSummary("Delete a dataset and its stored file")
            .WithDescription("Refused with 409 while a queued or running fine-tuning job uses the dataset. Teacher outputs kept for its rows go with it.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithParameterExample("id", "The dataset id.", Examples.Dataset.Id);

        return app;
    }

    private static async Task<Created<DatasetResponse>> UploadDataset(
        HttpRequest request,
        ServiceDbContext db,
        IArtifactStore artifacts,
        IOptions<DatasetsOptions> datasetsOptions,
        IOptions<PersistenceOptions> persistenceOptions,
        TimeProvider clock,
        AuditLog audit,
        ILogger<MultipartUploadForm> logger,
        CancellationToken cancellationToken)
    {
        var limits = datasetsOptions.Value;
        string spoolDirectory = Path.Combine(persistenceOptions.Value.ResolvedDataDirectory, "uploads");
        await using var form = await MultipartUploadForm.ReadAsync(
            request, "the dataset", UploadFields, limits.MaxUploadBytes, "Datasets:MaxUploadBytes", spoolDirectory, cancellationToken);

        var errors = new List<ProblemError>();
        var options = new DatasetImportOptions
        {
            TextColumn = form.Text("text_column")?.Trim() ?? "text",
            LabelColumn = form.Text("label_column")?.Trim() ?? "label",
            Dedupe = form.Flag("dedupe", true, errors),
            RedactPii = form.Flag("redact_pii", false, errors),
            Strict = form.Flag("strict", false, errors),
            TextOnly = form.Flag("text_only", false, errors),
            MaxTextLength = limits.MaxTextLength,
            MinExamplesPerLabel = limits.MinExamplesPerLabel,
        };
        foreach (string column in (string[])["text_column", "label_column"])
        {
            if (form.Text(column) is { } value && string.IsNullOrWhiteSpace(value))
            {
                errors.Add(ProblemError.ForField(column, "The column name is blank; leave the field out to use the default."));
            }
        }

        string name = (form.Text("name") ?? form.FileName ?? "dataset").Trim();
        if (name.Length is 0 or > 256)
        {
            errors.Add(ProblemError.ForField("name", "The name must be 1 to 256 characters."));
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        string id = ResourceId.New(ResourceId.DatasetPrefix, clock);
        string key = $"datasets/{id}.jsonl";
        DatasetImportResult result;
        StoredArtifact stored;
        await using (var write = artifacts.BeginWrite(key))
        {
            await using (var source = new FileStream(form.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            {
                result = await DatasetImporter.ImportAsync(source, form.FileName, options, write, cancellationToken);
            }

            if (result.IsRejected)
            {
                // Disposing the uncommitted write discards it: a rejected upload stores nothing.
                throw new UnprocessableContentException(
                    $"The upload was rejected: {result.Errors[0].Message}",
                    result.Errors.Select(e => new ProblemError(e.Field, e.Line, e.Message)).ToList());
            }

            stored = await write.CommitAsync(cancellationToken);
        }

        var dataset = new Dataset
        {
            Id = id,
            Name = name,
            Format = result.Format,
            RowCount = result.RowCount,
            RowsSkipped = result.RowsSkipped,
            DuplicatesRemoved = result.DuplicatesRemoved,
            PiiRedacted = new PiiRedactionSummary(result.Pii.Email, result.Pii.Phone, result.Pii.Card, result.Pii.Iban),
            Labels = result.Labels.Select(l => new LabelCount(l.Label, l.Count)).ToList(),
            TextLength = new TextLengthSummary(result.TextLength.Min, Math.Round(result.TextLength.Mean, 2), result.TextLength.Max),
            Sha256 = stored.Sha256,
            SizeBytes = stored.SizeBytes,
            ArtifactKey = stored.Key,
            Problems = result.Problems.Select(p => new RowProblem(p.Line, p.Message)).ToList(),
            QualityJson = JsonSerializer.Serialize(result.Quality, TrainingJson.Options),
            TextOnly = options.TextOnly,
            CreatedAt = clock.GetUtcNow(),
        };

        try
        {
            db.Datasets.Add(dataset);
            audit.Add(AuditLog.Actions.DatasetUpload, AuditLog.Resources.Dataset, dataset.Id, new()
            {
                ["name"] = dataset.Name,
                ["format"] = dataset.Format,
                ["rows"] = dataset.RowCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["sha256"] = dataset.Sha256,
            });
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch
        {
            // The row is what makes a dataset exist; without it the stored file must not linger.
            artifacts.Delete(stored.Key);
            throw;
        }

        LogUploaded(logger, dataset.Id, dataset.Format, dataset.RowCount, dataset.RowsSkipped, dataset.Labels.Count);
        return TypedResults.Created($"/v1/datasets/{dataset.Id}", DatasetResponse.From(dataset));
    }

    private static async Task<Ok<ListResponse<DatasetResponse>>> ListDatasets(
        ServiceDbContext db, int? limit, string? after, CancellationToken cancellationToken)
    {
        int pageSize = Paging.ValidateLimit(limit, DefaultPageSize, MaxPageSize);
        var query = db.Datasets.AsNoTracking();
        if (after is not null)
        {
            if (!ResourceId.IsWellFormed(after, ResourceId.DatasetPrefix))
            {
                throw new RequestValidationException([ProblemError.ForField("after", $"'{after}' is not a dataset id.")]);
            }

            query = query.Where(d => string.Compare(d.Id, after) < 0);
        }

        var page = await query.OrderByDescending(d => d.Id).Take(pageSize + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ListResponse<DatasetResponse>(
            page.Take(pageSize).Select(DatasetResponse.From).ToList(), page.Count > pageSize));
    }

    private static async Task<Ok<DatasetResponse>> GetDataset(string id, ServiceDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(DatasetResponse.From(await FindAsync(db, id, cancellationToken)));

    private static async Task<Ok<DatasetQualityReport>> GetDatasetQuality(string id, ServiceDbContext db, CancellationToken cancellationToken) =>
        DatasetResponse.QualityOf(await FindAsync(db, id, cancellationToken)) is { } quality
            ? TypedResults.Ok(quality)
            : throw new ApiProblemException(StatusCodes.Status404NotFound, "No quality report.",
                $"Dataset {id} was uploaded before quality reports existed; upload it again to get one.");

    private static async Task<Ok<DatasetRowsResponse>> GetDatasetRows(
        string id, int? offset, int? limit, ServiceDbContext db, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        int pageSize = Paging.ValidateLimit(limit, DefaultPageSize, MaxPreviewRows);
        int skip = offset ?? 0;
        if (skip < 0)
        {
            throw new RequestValidationException([ProblemError.ForField("offset", "The offset must be 0 or more.")]);
        }

        var dataset = await FindAsync(db, id, cancellationToken);
        var rows = new List<DatasetRowResponse>(Math.Min(pageSize, dataset.RowCount));
        await using var stream = await artifacts.OpenReadAsync(dataset.ArtifactKey, dataset.Sha256, dataset.SizeBytes, cancellationToken);
        int index = 0;
        await foreach (var row in DatasetRowReader.ReadAsync(stream, cancellationToken))
        {
            if (index >= skip)
            {
                rows.Add(new DatasetRowResponse(row.Text, row.Label));
                if (rows.Count == pageSize)
                {
                    break;
                }
            }

            index++;
        }

        return TypedResults.Ok(new DatasetRowsResponse(rows, dataset.RowCount, skip, pageSize));
    }

    private static async Task<NoContent> DeleteDataset(
        string id, ServiceDbContext db, IArtifactStore artifacts, AuditLog audit, ILogger<MultipartUploadForm> logger, CancellationToken cancellationToken)
    {
        var dataset = await FindAsync(db, id, cancellationToken);
        var activeJob = await db.FineTuningJobs.AsNoTracking()
            .Where(j => (j.TrainingDatasetId == id || j.ValidationDatasetId == id || j.UnlabelledDatasetId == id)
                && (j.Status == FineTuningJobStatus.Queued || j.Status == FineTuningJobStatus.Running))
            .Select(j => j.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (activeJob is not null)
        {
            throw new ResourceConflictException($"Dataset '{id}' is used by fine-tuning job '{activeJob}', which is queued or running; cancel it or wait for it to finish.");
        }

        // A teacher's logits over these rows are of no use once the rows are gone.
        var teacherOutputs = await StoredTeacherOutputs.ComputedOverAsync(db, dataset, cancellationToken);
        db.TeacherOutputs.RemoveRange(teacherOutputs);
        db.Datasets.Remove(dataset);
        audit.Add(AuditLog.Actions.DatasetDelete, AuditLog.Resources.Dataset, id, new() { ["name"] = dataset.Name, ["sha256"] = dataset.Sha256 });
        await db.SaveChangesAsync(cancellationToken);
        artifacts.Delete(dataset.ArtifactKey);
        foreach (var outputs in teacherOutputs)
        {
            artifacts.Delete(outputs.ArtifactKey);
        }

        LogDeleted(logger, id);
        return TypedResults.NoContent();
    }

    private static async Task<Dataset> FindAsync(ServiceDbContext db, string id, CancellationToken cancellationToken) =>
        await db.Datasets.FirstOrDefaultAsync(d => d.Id == id, cancellationToken)
            ?? throw new ResourceNotFoundException("Dataset", id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {DatasetId} uploaded: {Format}, {RowCount} rows, {RowsSkipped} skipped, {LabelCount} labels")]
    private static partial void LogUploaded(ILogger logger, string datasetId, string format, int rowCount, int rowsSkipped, int labelCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dataset {DatasetId} deleted")]
    private static partial void LogDeleted(ILogger logger, string datasetId);

    private static class Examples
    {
        public static readonly DatasetResponse Dataset = new(
            "ds_01kaq3m5t8y9c2b7n4x6r0w1zd", "dataset", "clinc150-train", "csv", "ready", 15100, 0, 0,
            new PiiRedactedResponse(0, 0, 0, 0, 0),
            [new LabelCount("balance", 100), new LabelCount("oos", 100)],
            new TextLengthSummary(2, 39.6, 136),
            "5f2b8c0e4a1d9e3f7b6a5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f", 1187342,
            [new RowProblem(42, "The text is empty.")],
            Quality,
            new DateTimeOffset(2026, 11, 23, 9, 30, 0, TimeSpan.Zero));

        public static readonly DatasetQualityReport Quality = new(
            [
                new QualityFinding(QualitySeverity.Warning, DatasetQualityReport.Codes.ConflictingDuplicates,
                    "1 row(s) repeat an earlier row's text under another label: the model is taught both answers. Each example names the earlier line and label.",
                    1, [new QualityExample(812, "how much money do i have", "balance", "transfer", 97)]),
            ],
            new Dictionary<string, double> { ["latin"] = 1.0 },
            [new TextLengthBucket(0, 10, 120), new TextLengthBucket(10, 20, 4_310), new TextLengthBucket(20, 30, 5_880), new TextLengthBucket(30, null, 4_690)]);
    }
}
