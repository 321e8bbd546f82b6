using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TextClassification.Api.Contracts;
using TextClassification.Api.Problems;
using TextClassification.Inference.Sessions;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Data;
using TextClassification.Training.Jobs;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Api.Endpoints;

/// <summary>
/// Turns a <c>POST /v1/fine-tuning/jobs</c> body into a queued job, or refuses it naming the field: 400 for a
/// missing, malformed or out-of-range value, 404 for a dataset or base model that does not exist, 422 for values
/// that are well-formed but cannot be used (an unknown architecture, an out-of-scope label the data lacks).
/// </summary>
internal sealed class FineTuningJobRequests(ServiceDbContext db, BaseModelCatalog baseModels, IArtifactStore artifacts, IOptions<JobsOptions> jobs, TimeProvider clock)
{
    public const string Description = """
        Starts training a classifier on an uploaded dataset. Required: `training_dataset_id` and `model` (the registry
        name the result is published under, `[a-z0-9][a-z0-9._-]{0,63}`). Optional: `validation_dataset_id` (else
        `validation_split` of the training data, stratified by label, default 0.1), `base_model` (a pretrained encoder
        from `GET /v1/base-models`, such as `minilm-l6`, to fine-tune with a new head; or `name:version` of a
        registered model to start from: its tokenizer and weights are reused, and its classification head is rebuilt
        when the labels differ), `architecture` (`ngram-bag`, the default, `transformer`, or `bert`, which a
        pretrained encoder implies), `hyperparameters` (any
        subset; the rest take the architecture's defaults, and the job shows them resolved) and `out_of_scope_label`
        (a label meaning "none of the intents", such as `oos`: it is not trained as a class, and a confidence
        threshold for answering "I don't know" is chosen on the validation data), `quantization` (`none`, the
        default, or `dynamic_int8`: the version is also exported as a dynamically quantized INT8 graph, which is the
        one served; its accuracy and speed change against the float32 graph are measured on the validation data and
        shown with the version), `dry_run` (true: check everything and answer 200 with the preflight, the resolved
        hyperparameters, the rows it would train and validate on, every finding about its data (the datasets' reports and,
        with a validation dataset, the pair checks) and an estimated
        duration from this service's last job of the same kind, without queueing anything), `distill_from`
        (`name:version` of a registered model to distil from: the job's own architecture, the n-gram bag by default,
        learns from the teacher's temperature-softened probabilities mixed with the labels, see the
        `distillation_temperature` and `distillation_alpha` hyperparameters; the teacher must predict every label of
        the training data, and its ONNX export is run over the texts, its outputs kept for the next student of the same
        teacher and dataset), `unlabelled_dataset_id` (with `distill_from`: a dataset, typically uploaded with
        `text_only`, whose texts the student also learns from through the teacher) and, with `distill_from`, the
        `distillation_transfer_copies` hyperparameter (0 by default: that many variants of each text, with words
        replaced by their nearest words in MiniLM's embeddings with probability `distillation_word_replacement`,
        labelled by the teacher; 16 copies took a CLINC150 n-gram student from 92.7 % to 93.7 % in-scope accuracy at
        about 35 times the training time). A `text_only` dataset cannot be the
        training or validation dataset. Refused with 422 before
        anything is queued: training data in which every label is unique, more labels than `Jobs:MaxLabels`, or
        labels with a single example and no validation dataset.
        """;

    public const double DefaultValidationSplit = 0.1;

    public static readonly CreateFineTuningJobRequest Example = new(
        "ds_01kaq3m5t8y9c2b7n4x6r0w1zd", "ds_01kaq3m6a1b2c3d4e5f6g7h8j9", "support-intents", null, "ngram-bag",
        new HyperparameterOverrides { Epochs = 8, Seed = 7 }, null, "oos", "none");

    /// <summary>The job a request describes, checked, with the datasets and hyperparameters it was checked against.</summary>
    public async Task<CheckedJob> ToJobAsync(CreateFineTuningJobRequest? request, CancellationToken cancellationToken)
    {
        if (request is null)
        {
            throw new RequestValidationException([ProblemError.ForField("body", "Send a JSON object describing the job.")]);
        }

        var errors = new List<ProblemError>();
        if (string.IsNullOrWhiteSpace(request.TrainingDatasetId))
        {
            errors.Add(ProblemError.ForField("training_dataset_id", "training_dataset_id is required."));
        }

        if (string.IsNullOrWhiteSpace(request.Model))
        {
            errors.Add(ProblemError.ForField("model", "model is required: the name the trained model is published under."));
        }
        else if (!ModelReference.IsValidName(request.Model))
        {
            errors.Add(ProblemError.ForField("model", $"'{request.Model}' is not a valid model name: use 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit."));
        }

        if (request.ValidationSplit is { } split && !(split > 0 && split <= 0.5))
        {
            errors.Add(ProblemError.ForField("validation_split", "validation_split must be greater than 0 and at most 0.5."));
        }

        if (request.Quantization is not (null or "none" or ClassifierMetadata.DynamicInt8))
        {
            errors.Add(ProblemError.ForField("quantization", $"quantization must be none or {ClassifierMetadata.DynamicInt8}."));
        }

        if (request.ValidationSplit is not null && request.ValidationDatasetId is not null)
        {
            errors.Add(ProblemError.ForField("validation_split", "Give validation_split or validation_dataset_id, not both."));
        }

        ModelReference? baseModel = null;
        BaseModelDescription? encoder = null;
        if (request.BaseModel is not null)
        {
            if (await baseModels.FindAsync(request.BaseModel, cancellationToken) is { } pretrained)
            {
                encoder = pretrained;
            }
            else if (ModelReference.TryParse(request.BaseModel, out var parsed))
            {
                baseModel = parsed;
            }
            else
            {
                string known = string.Join(", ", (await baseModels.ListAsync(cancellationToken)).Select(m => m.Id));
                errors.Add(ProblemError.ForField("base_model",
                    $"'{request.BaseModel}' is neither a base model ({(known.Length == 0 ? "none is installed" : known)}; see GET /v1/base-models) nor a model version as name:version (for example support-intents:3)."));
            }
        }

        ModelReference? teacherReference = null;
        if (request.DistillFrom is not null)
        {
            if (ModelReference.TryParse(request.DistillFrom, out var parsed))
            {
                teacherReference = parsed;
            }
            else
            {
                errors.Add(ProblemError.ForField("distill_from", $"'{request.DistillFrom}' is not a model version as name:version (for example support-intents:3)."));
            }
        }

        if (request.UnlabelledDatasetId is not null && request.DistillFrom is null)
        {
            errors.Add(ProblemError.ForField("unlabelled_dataset_id", "Unlabelled texts are learnt from through a teacher: give distill_from too."));
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        var training = await FindDatasetAsync(request.TrainingDatasetId!, "training_dataset_id", cancellationToken);
        var validation = request.ValidationDatasetId is null
            ? null
            : await FindDatasetAsync(request.ValidationDatasetId, "validation_dataset_id", cancellationToken);

        var unlabelled = request.UnlabelledDatasetId is null
            ? null
            : await FindDatasetAsync(request.UnlabelledDatasetId, "unlabelled_dataset_id", cancellationToken);
        var teacher = teacherReference is null ? null : await FindVersionAsync(teacherReference, "distill_from", "Teacher not found.", cancellationToken);

        ModelVersion? baseVersion = null;
        if (baseModel is not null)
        {
            baseVersion = await FindVersionAsync(baseModel, "base_model", "Base model not found.", cancellationToken);
        }

        // A job that starts from a base model (a pretrained encoder or a registered version) trains its architecture.
        string architectureName = request.Architecture ?? encoder?.Architecture ?? baseVersion?.Architecture ?? ArchitectureRegistry.Default;
        ArchitectureRegistry.TryGet(architectureName, out var architecture);
        var unusable = new List<ProblemError>();
        foreach (var (dataset, field) in new[] { (training, "training_dataset_id"), (validation, "validation_dataset_id") })
        {
            if (dataset?.TextOnly == true)
            {
                unusable.Add(ProblemError.ForField(field, $"Dataset '{dataset.Id}' holds texts without labels (text_only); it can only be a distillation job's unlabelled_dataset_id."));
            }
        }

        if (teacher is not null)
        {
            unusable.AddRange(TeacherProblems(teacher, training, request.OutOfScopeLabel));
        }

        if (unusable.Count > 0)
        {
            throw new UnprocessableContentException(unusable[0].Message, unusable);
        }

        if (architecture is null)
        {
            unusable.Add(ProblemError.ForField("architecture",
                $"Unknown architecture '{architectureName}'; use one of: {string.Join(", ", ArchitectureRegistry.All.Select(a => a.Name))}."));
        }
        else if (baseVersion is not null && baseVersion.Architecture != architecture.Name)
        {
            unusable.Add(ProblemError.ForField("architecture", $"The base model is a {baseVersion.Architecture} model; a job that starts from it trains the same architecture."));
        }
        else if (encoder is not null && encoder.Architecture != architecture.Name)
        {
            unusable.Add(ProblemError.ForField("architecture", $"The base model {encoder.Id} is a {encoder.Architecture} encoder; a job that starts from it trains {encoder.Architecture}."));
        }
        else if (architecture.Name == ArchitectureRegistry.Bert && encoder is null && baseVersion is null)
        {
            unusable.Add(ProblemError.ForField("base_model",
                $"A {ArchitectureRegistry.Bert} job fine-tunes a pretrained encoder: name one as base_model ({string.Join(", ", (await baseModels.ListAsync(cancellationToken)).Select(m => m.Id))})."));
        }

        // Out-of-scope rows are never trained on; they choose the threshold on the validation rows. So the label may
        // appear in the validation dataset only (a team often has a few "none of these" examples and no more).
        if (request.OutOfScopeLabel is { } oos && training.Labels.All(l => l.Label != oos) && (validation is null || validation.Labels.All(l => l.Label != oos)))
        {
            unusable.Add(ProblemError.ForField("out_of_scope_label",
                validation is null ? $"The training dataset has no label '{oos}'." : $"Neither the training nor the validation dataset has a label '{oos}'."));
        }

        int intents = training.Labels.Count(l => l.Label != request.OutOfScopeLabel);
        if (intents < 2)
        {
            unusable.Add(ProblemError.ForField("training_dataset_id", $"Training needs at least two labels besides the out-of-scope label; the dataset has {intents}."));
        }

        unusable.AddRange(Refusals(training, validation, request.OutOfScopeLabel, intents));

        if (unusable.Count > 0)
        {
            throw new UnprocessableContentException(unusable[0].Message, unusable);
        }

        var overrides = request.Hyperparameters ?? new HyperparameterOverrides();
        var hyperparameters = overrides.ApplyTo(architecture!.DefaultHyperparametersFor(overrides.TrainLayers));
        var invalid = hyperparameters.Validate();
        if (invalid.Count > 0)
        {
            throw new RequestValidationException(invalid
                .Select(e => ProblemError.ForField($"hyperparameters.{e.Field}", $"hyperparameters.{e.Field} {e.Message}."))
                .ToList());
        }

        if (hyperparameters.EmbeddingDim is not null && (architecture.Name != ArchitectureRegistry.NGramBag || baseVersion is not null))
        {
            throw new UnprocessableContentException(
                $"embedding_dim applies to an {ArchitectureRegistry.NGramBag} trained from scratch; other models take their width from their config or base model.",
                [ProblemError.ForField("hyperparameters.embedding_dim", $"embedding_dim applies to an {ArchitectureRegistry.NGramBag} trained from scratch only.")]);
        }

        if (hyperparameters.WordVectors is { } wordVectors)
        {
            const string field = "hyperparameters.word_vectors";
            if (architecture.Name != ArchitectureRegistry.NGramBag || baseVersion is not null)
            {
                throw new UnprocessableContentException(
                    $"word_vectors applies to an {ArchitectureRegistry.NGramBag} trained from scratch; a {architecture.Name} job{(baseVersion is null ? "" : " from a base model")} cannot take them.",
                    [ProblemError.ForField(field, $"word_vectors applies to an {ArchitectureRegistry.NGramBag} trained from scratch only.")]);
            }

            if (ModelReference.TryParse(wordVectors, out var vectorVersion))
            {
                // A registered classifier's logits for each word alone (a fine-tuned teacher's, typically).
                var version = await FindVersionAsync(vectorVersion, field, "Model version not found.", cancellationToken);
                if (version.OnnxArtifactKey is null)
                {
                    throw new UnprocessableContentException($"The model version {vectorVersion} has no ONNX export to run.",
                        [NotExported(field, vectorVersion.ToString())]);
                }
            }
            else if (await baseModels.FindAsync(wordVectors, cancellationToken) is null)
            {
                throw new ApiProblemException(StatusCodes.Status404NotFound, "Base model not found.",
                    $"No base model {wordVectors} is installed or uploaded.",
                    [ProblemError.ForField(field, $"{wordVectors} is not a base model; use one of: {string.Join(", ", (await baseModels.ListAsync(cancellationToken)).Select(m => m.Id))}, or a registered model version as name:version.")]);
            }
        }

        if (hyperparameters.DistillationTransferCopies > 0 && teacherReference is null)
        {
            throw new RequestValidationException([ProblemError.ForField("hyperparameters.distillation_transfer_copies",
                "A transfer set is labelled by a teacher: give distill_from too, or leave distillation_transfer_copies at 0.")]);
        }

        // An encoder reads at most its position embeddings' rows: the preset's length is cut to fit, an asked-for one
        // that does not fit is refused here rather than failing the job later.
        if (encoder is not null && hyperparameters.MaxSequenceLength > encoder.Config.MaxPositions)
        {
            if (request.Hyperparameters?.MaxSequenceLength is not null)
            {
                throw new UnprocessableContentException(
                    $"max_sequence_length {hyperparameters.MaxSequenceLength} exceeds the {encoder.Id} encoder's {encoder.Config.MaxPositions} positions.",
                    [ProblemError.ForField("hyperparameters.max_sequence_length", $"The {encoder.Id} encoder reads at most {encoder.Config.MaxPositions} tokens.")]);
            }

            hyperparameters = hyperparameters with { MaxSequenceLength = encoder.Config.MaxPositions };
        }

        var now = clock.GetUtcNow();
        var job = new FineTuningJob
        {
            Id = ResourceId.New(ResourceId.FineTuningJobPrefix, clock),
            Model = request.Model!,
            BaseModel = encoder?.Id ?? (baseVersion is null ? null : $"{baseVersion.ModelName}:{baseVersion.Version}"),
            Architecture = architecture.Name,
            DistillFrom = teacher is null ? null : $"{teacher.ModelName}:{teacher.Version}",
            UnlabelledDatasetId = unlabelled?.Id,
            HyperparametersJson = JsonSerializer.Serialize(hyperparameters, TrainingJson.Options),
            TrainingDatasetId = training.Id,
            ValidationDatasetId = validation?.Id,
            ValidationSplit = validation is null ? request.ValidationSplit ?? DefaultValidationSplit : null,
            OutOfScopeLabel = request.OutOfScopeLabel,
            Quantization = request.Quantization == ClassifierMetadata.DynamicInt8 ? ClassifierMetadata.DynamicInt8 : null,
            CreatedAt = now,
        };
        return new CheckedJob(job, training, validation, hyperparameters);
    }

    /// <summary>
    /// Everything known about a checked job's data: its datasets' quality findings (codes prefixed with the dataset's
    /// role) and, with a validation dataset, labels found in only one of the two and validation texts that also
    /// appear in the training data (leakage: the validation figures flatter the model). The created job carries the
    /// warnings and errors among them; a dry run shows them all.
    /// </summary>
    public async Task<List<QualityFinding>> FindingsAsync(CheckedJob checkedJob, CancellationToken cancellationToken)
    {
        var (job, training, validation, _) = checkedJob;
        var warnings = QualityFindings("training", training).Concat(validation is null ? [] : QualityFindings("validation", validation)).ToList();
        if (validation is null)
        {
            return warnings;
        }

        var trained = training.Labels.Select(l => l.Label).Where(l => l != job.OutOfScopeLabel).ToHashSet(StringComparer.Ordinal);
        var validated = validation.Labels.Select(l => l.Label).Where(l => l != job.OutOfScopeLabel).ToHashSet(StringComparer.Ordinal);
        var untrained = validated.Except(trained).Order(StringComparer.Ordinal).ToList();
        var unvalidated = trained.Except(validated).Order(StringComparer.Ordinal).ToList();
        if (untrained.Count > 0)
        {
            warnings.Add(new QualityFinding(QualitySeverity.Warning, "validation_labels_not_in_training",
                $"{untrained.Count} label(s) of the validation dataset are not in the training dataset; the model can never predict them.",
                untrained.Count, untrained.Take(DatasetQualityReport.MaxExamples).Select(l => new QualityExample(null, null, l)).ToList()));
        }

        if (unvalidated.Count > 0)
        {
            warnings.Add(new QualityFinding(QualitySeverity.Warning, "training_labels_not_in_validation",
                $"{unvalidated.Count} label(s) of the training dataset have no validation rows; their accuracy is never measured.",
                unvalidated.Count, unvalidated.Take(DatasetQualityReport.MaxExamples).Select(l => new QualityExample(null, null, l)).ToList()));
        }

        var validationTexts = new HashSet<string>(StringComparer.Ordinal);
        await using (var stream = await artifacts.OpenReadAsync(validation.ArtifactKey, validation.Sha256, validation.SizeBytes, cancellationToken))
        {
            await foreach (var row in DatasetRowReader.ReadAsync(stream, cancellationToken))
            {
                validationTexts.Add(row.Text);
            }
        }

        var leaked = new List<QualityExample>();
        int leakedCount = 0;
        await using (var stream = await artifacts.OpenReadAsync(training.ArtifactKey, training.Sha256, training.SizeBytes, cancellationToken))
        {
            await foreach (var row in DatasetRowReader.ReadAsync(stream, cancellationToken))
            {
                if (validationTexts.Remove(row.Text) && leakedCount++ < DatasetQualityReport.MaxExamples)
                {
                    leaked.Add(new QualityExample(null, row.Text, row.Label));
                }
            }
        }

        if (leakedCount > 0)
        {
            warnings.Add(new QualityFinding(QualitySeverity.Warning, "validation_texts_in_training",
                $"{leakedCount} validation text(s) also appear in the training dataset: the validation figures will flatter the model.",
                leakedCount, leaked));
        }

        return warnings;
    }

    /// <summary>
    /// What a checked job would do, for <c>"dry_run": true</c>: its resolved settings, the rows it would train and
    /// validate on, every finding about its data (<see cref="FindingsAsync"/>), and an estimate of its duration from this service's
    /// own measured throughput.
    /// </summary>
    public async Task<FineTuningJobPreflightResponse> PreflightAsync(CheckedJob checkedJob, CancellationToken cancellationToken)
    {
        var (job, training, validation, hyperparameters) = checkedJob;
        int heldOut = validation is null ? training.Labels.Sum(l => StratifiedSplit.ValidationRowsFor(l.Count, job.ValidationSplit ?? DefaultValidationSplit)) : 0;
        int trainingRows = training.RowCount - heldOut;
        var findings = await FindingsAsync(checkedJob, cancellationToken);

        // The latest succeeded job of the same kind: the median of its step events' throughput.
        var previous = await db.FineTuningJobs.AsNoTracking()
            .Where(j => j.Status == FineTuningJobStatus.Succeeded && j.Architecture == job.Architecture && j.BaseModel == job.BaseModel)
            .OrderByDescending(j => j.Id).Select(j => j.Id).FirstOrDefaultAsync(cancellationToken);
        double? estimate = null;
        if (previous is not null)
        {
            var rates = (await db.JobEvents.AsNoTracking().Where(e => e.JobId == previous && e.Type == JobEventTypes.StepLoss).Select(e => e.DataJson).ToListAsync(cancellationToken))
                .Select(ExamplesPerSecond).Where(rate => rate > 0).Order().ToList();
            if (rates.Count > 0)
            {
                // Augmentation adds its variants to every epoch's rows, and so does a distillation transfer set (which
                // also costs a teacher run per variant once; that is not counted here).
                int rowsPerText = 1 + (hyperparameters.Augmentation is { Enabled: true } augmentation ? augmentation.Copies : 0)
                    + (job.DistillFrom is null ? 0 : hyperparameters.DistillationTransferCopies);
                estimate = Math.Round(hyperparameters.Epochs * (double)trainingRows * rowsPerText / rates[rates.Count / 2], 1);
            }
        }

        return new FineTuningJobPreflightResponse(
            "fine_tuning.job.preflight",
            job.Architecture,
            job.BaseModel,
            JsonDocument.Parse(job.HyperparametersJson).RootElement.Clone(),
            trainingRows,
            validation?.RowCount ?? heldOut,
            training.Labels.Count(l => l.Label != job.OutOfScopeLabel),
            findings,
            estimate);

        static double ExamplesPerSecond(string? data)
        {
            if (data is null)
            {
                return 0;
            }

            using var document = JsonDocument.Parse(data);
            return document.RootElement.TryGetProperty("examples_per_second", out var rate) ? rate.GetDouble() : 0;
        }
    }

    /// <summary>
    /// What makes training on these datasets meaningless, from the training dataset's quality report and label counts:
    /// every row a label of its own, more labels than <c>Jobs:MaxLabels</c>, or (without a validation dataset) labels
    /// with one example, which the stratified split can only put in training, so they are never validated.
    /// </summary>
    private IEnumerable<ProblemError> Refusals(Dataset training, Dataset? validation, string? outOfScopeLabel, int intents)
    {
        var quality = DatasetResponse.QualityOf(training);
        if (quality?.Findings.FirstOrDefault(f => f.Code == DatasetQualityReport.Codes.EveryLabelUnique) is { } unique)
        {
            yield return ProblemError.ForField("training_dataset_id", $"{unique.Message} ({unique.Code})");
            yield break;
        }

        if (intents > jobs.Value.MaxLabels)
        {
            yield return ProblemError.ForField("training_dataset_id",
                $"The training dataset has {intents} labels; a job trains at most {jobs.Value.MaxLabels} (Jobs:MaxLabels). Is the label column right? (too_many_labels)");
        }

        if (validation is null)
        {
            var singles = training.Labels.Where(l => l.Count == 1 && l.Label != outOfScopeLabel).Select(l => l.Label).Order(StringComparer.Ordinal).ToList();
            if (singles.Count > 0)
            {
                yield return ProblemError.ForField("training_dataset_id",
                    $"{singles.Count} label(s) have a single example ({string.Join(", ", singles.Take(10).Select(l => $"'{l}'"))}{(singles.Count > 10 ? ", ..." : string.Empty)}): the validation split cannot hold one out, so they would never be validated. Add examples or give a validation_dataset_id. (single_example_labels)");
            }
        }
    }

    /// <summary>
    /// Why a registered version cannot teach a job on this training data: it has no ONNX export to run, or it does
    /// not predict every label the student learns (its labels are mapped onto the student's by name; labels only the
    /// teacher has are dropped, see <c>TeacherTargets</c>).
    /// </summary>
    private static IEnumerable<ProblemError> TeacherProblems(ModelVersion teacher, Dataset training, string? outOfScopeLabel)
    {
        string name = $"{teacher.ModelName}:{teacher.Version}";
        if (teacher.OnnxArtifactKey is null)
        {
            yield return NotExported("distill_from", $"The teacher {name}");
            yield break;
        }

        var taught = (JsonSerializer.Deserialize<string[]>(teacher.LabelsJson) ?? []).ToHashSet(StringComparer.Ordinal);
        var untaught = training.Labels.Select(l => l.Label).Where(l => l != outOfScopeLabel && !taught.Contains(l)).Order(StringComparer.Ordinal).ToList();
        if (untaught.Count > 0)
        {
            yield return ProblemError.ForField("distill_from",
                $"The teacher {name} does not predict {untaught.Count} label(s) of the training data ({string.Join(", ", untaught.Take(10).Select(l => $"'{l}'"))}{(untaught.Count > 10 ? ", ..." : string.Empty)}), so it cannot teach them.");
        }
    }

    private static IEnumerable<QualityFinding> QualityFindings(string role, Dataset dataset) =>
        (DatasetResponse.QualityOf(dataset)?.Findings ?? []).Select(f => f with { Code = $"{role}.{f.Code}" });

    /// <summary>A version that ONNX Runtime cannot run, as <paramref name="field"/>'s problem.</summary>
    private static ProblemError NotExported(string field, string what) =>
        ProblemError.ForField(field, $"{what} was published before ONNX export existed; it cannot be run. Train it again.");

    private async Task<ModelVersion> FindVersionAsync(ModelReference reference, string field, string title, CancellationToken cancellationToken) =>
        await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.ModelName == reference.Name && v.Version == reference.Version, cancellationToken)
            ?? throw new ApiProblemException(StatusCodes.Status404NotFound, title,
                $"No model version {reference} is registered.", [ProblemError.ForField(field, $"{reference} does not exist.")]);

    private async Task<Dataset> FindDatasetAsync(string id, string field, CancellationToken cancellationToken) =>
        await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, cancellationToken)
            ?? throw new ApiProblemException(StatusCodes.Status404NotFound, "Dataset not found.",
                $"No dataset has the id '{id}'.", [ProblemError.ForField(field, $"Dataset '{id}' does not exist.")]);
}

/// <summary>A job built from a request and checked, with what it was checked against, so that nothing is read twice.</summary>
/// <param name="Job">The job, not yet saved.</param>
/// <param name="Training">Its training dataset's row.</param>
/// <param name="Validation">Its validation dataset's row, when it names one.</param>
/// <param name="Hyperparameters">Resolved: the request's values over the preset (the job holds them as JSON).</param>
internal sealed record CheckedJob(FineTuningJob Job, Dataset Training, Dataset? Validation, Hyperparameters Hyperparameters);
