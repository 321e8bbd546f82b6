using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Distillation;
using TextClassification.Training.Export.Onnx;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Jobs;

/// <summary>The model version a job published; a sweep's trial publishes none (<paramref name="Version"/> null), its sweep decides.</summary>
public sealed record PublishedModel(string Model, int? Version);

/// <summary>
/// What a fine-tuning job does once a worker holds it: read its datasets, pick up its last checkpoint (or its base
/// model), train with progress, metrics and a checkpoint after every epoch, and publish the result as the next
/// version of its model. Safe to run again after a crash at any point: it resumes from the last stored checkpoint,
/// and a job that already published returns that version instead of publishing twice.
/// </summary>
public sealed partial class FineTuningJobExecution(
    TrainingHeartbeat heartbeat,
    IServiceScopeFactory scopes,
    IArtifactStore artifacts,
    JobLease lease,
    JobEventLog events,
    TrainingDevice device,
    BaseModelCatalog baseModels,
    WordVectorCache wordVectorCache,
    TeacherOutputCache teacherOutputs,
    WordNeighbours wordNeighbours,
    Sweeps.SweepTrialPruner pruner,
    TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<JobsOptions> jobsOptions,
    ILogger<FineTuningJobExecution> logger) : IFineTuningJobExecution
{
    /// <summary>
    /// One training at a time per process: each run already uses every core. (Repeatability does not depend on it:
    /// every run draws from a generator of its own, see <see cref="Trainer"/>.)
    /// </summary>
    private static readonly SemaphoreSlim TrainingGate = new(1, 1);

    public async Task<PublishedModel> ExecuteAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var job = await db.FineTuningJobs.AsNoTracking().SingleAsync(j => j.Id == jobId, cancellationToken);

        var published = await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.JobId == jobId, cancellationToken);
        if (published is not null)
        {
            // The job published before its worker stopped; finishing it is all that is left.
            return new PublishedModel(published.ModelName, published.Version);
        }

        if (job.PendingVersionJson is not null)
        {
            // A sweep's trial that stored its model before its worker stopped.
            return new PublishedModel(job.Model, null);
        }

        var hyperparameters = JsonSerializer.Deserialize<Hyperparameters>(job.HyperparametersJson, TrainingJson.Options)!;
        var (trainingDataset, trainingRows) = await ReadDatasetAsync(db, job.TrainingDatasetId, "training", cancellationToken);
        IReadOnlyList<LabelledText> train = trainingRows;
        IReadOnlyList<LabelledText> validation;
        if (job.ValidationDatasetId is { } validationId)
        {
            validation = (await ReadDatasetAsync(db, validationId, "validation", cancellationToken)).Rows;
        }
        else
        {
            (train, validation) = StratifiedSplit.Split(trainingRows, job.ValidationSplit ?? 0.1, hyperparameters.Seed);
        }

        var resume = await LatestCheckpointAsync(db, jobId, cancellationToken);
        // base_model is a pretrained encoder's id (minilm-l6) or a registered version (name:version).
        bool fromEncoder = job.BaseModel is not null && !ModelReference.TryParse(job.BaseModel, out _);
        var baseModel = resume is null && job.BaseModel is not null && !fromEncoder ? await BaseModelAsync(db, job.BaseModel, cancellationToken) : null;
        var pretrained = resume is null && fromEncoder ? await LoadEncoderAsync(job.BaseModel!, cancellationToken) : null;
        // A resumed run has its word vectors in its checkpoint's weights; a fresh one gets them from the encoder.
        var wordVectors = resume is null && baseModel is null && hyperparameters.WordVectors is { } vectorSource
            ? await WordVectorsAsync(jobId, vectorSource, cancellationToken)
            : null;
        if (resume is not null)
        {
            await events.AppendAsync(jobId, "info", JobEventTypes.Resumed,
                $"Resuming from the checkpoint after epoch {resume.EpochsCompleted}.", new { epoch = resume.EpochsCompleted, step = resume.GlobalStep }, cancellationToken);
        }

        // A resumed run's checkpoint was made with the teacher's targets; its fingerprint checks they are the same.
        (TeacherTargets Targets, string Version)? teacher = job.DistillFrom is null ? null : await TeacherTargetsAsync(db, job, hyperparameters, trainingDataset, trainingRows, train, cancellationToken);
        var request = new TrainingRequest
        {
            Architecture = job.Architecture,
            Hyperparameters = hyperparameters,
            Train = train,
            Validation = validation,
            OutOfScopeLabel = job.OutOfScopeLabel,
            Resume = resume,
            BaseModel = baseModel,
            Pretrained = pretrained,
            WordVectors = wordVectors,
            Teacher = teacher?.Targets,
            Device = device.Device,
        };

        var reporter = new JobProgressReporter(jobId, hyperparameters.Epochs, resume?.GlobalStep ?? 0, lease, events, artifacts, clock, scopes, jobsOptions.Value.Checkpoints, heartbeat);
        var observer = await pruner.ObserveAsync(job, lease, reporter, cancellationToken);
        TrainingResult result;
        await TrainingGate.WaitAsync(cancellationToken);
        try
        {
            // Training is CPU-bound and synchronous: it gets a thread of its own rather than a pool thread.
            result = await Task.Factory.StartNew(
                () =>
                {
                    device.UseOnThisThread();
                    return Trainer.Train(request, observer, cancellationToken);
                },
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }
        catch (TrainingRequestException e)
        {
            throw new TrainingFailedException(TrainingFailedException.InvalidData, e.Message, e);
        }
        finally
        {
            TrainingGate.Release();
            await reporter.CompleteAsync();
        }

        heartbeat.Beat();
        LogTrained(logger, jobId, result.EpochsRun, result.BestEpoch, result.TrainingSeconds);
        if (result.Evaluation is { } evaluation)
        {
            await events.AppendAsync(jobId, "info", JobEventTypes.Evaluation, Summarize(evaluation), new
            {
                evaluation.Examples,
                accuracy = Math.Round(evaluation.Accuracy, 5),
                macro_f1 = Math.Round(evaluation.MacroF1, 5),
                out_of_scope = evaluation.OutOfScope,
            }, CancellationToken.None);
        }

        // The export runs outside the training gate: another job may start training while this one's graph is
        // written and checked. Building the module to check draws from torch's default generator, which no training
        // run uses.
        var exported = await Task.Factory.StartNew(
            () => ModelExportStep.Export(result.Model, validation, job.Quantization, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        heartbeat.Beat();
        await events.AppendAsync(jobId, "info", JobEventTypes.Exported, Describe(exported), new
        {
            parity_max_abs_difference = exported.Parity.MaxAbsDifference,
            onnx_bytes = exported.Onnx.LongLength,
            quantization = exported.Quantization,
        }, CancellationToken.None);
        return await PublishAsync(job, result, exported, teacher?.Version, CancellationToken.None);
    }

    /// <summary>
    /// The teacher's logits over the training texts and, with <c>unlabelled_dataset_id</c>, over those texts too, and
    /// with <c>distillation_transfer_copies</c> over a <see cref="TransferSet"/> made from the texts the student trains
    /// on (<paramref name="train"/>: never from rows split off for validation) and the unlabelled ones: read from
    /// <see cref="TeacherOutputCache"/> when this teacher has scored the same texts before, else computed and kept.
    /// Each set's outcome (cache hit or miss, rows, seconds) is one event of the job.
    /// </summary>
    private async Task<(TeacherTargets Targets, string Version)> TeacherTargetsAsync(
        ServiceDbContext db, FineTuningJob job, Hyperparameters hyperparameters, Dataset trainingDataset, List<LabelledText> trainingRows,
        IReadOnlyList<LabelledText> train, CancellationToken cancellationToken)
    {
        if (!ModelReference.TryParse(job.DistillFrom!, out var reference))
        {
            throw new TrainingFailedException(TrainingFailedException.TeacherUnusable, $"'{job.DistillFrom}' does not name a model version.");
        }

        var teacher = await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.ModelName == reference.Name && v.Version == reference.Version, cancellationToken)
            ?? throw new TrainingFailedException(TrainingFailedException.TeacherUnusable, $"The teacher {job.DistillFrom} no longer exists.");
        var labels = JsonSerializer.Deserialize<string[]>(teacher.LabelsJson, TrainingJson.Options)!;
        var logitsByText = new Dictionary<string, ReadOnlyMemory<float>>(StringComparer.Ordinal);

        // Each set of texts the teacher scores: the training dataset, the unlabelled one, then the transfer set made
        // from them (no dataset id).
        var sets = new List<(string? DatasetId, string Sha256, List<string> Texts)>
        {
            (trainingDataset.Id, trainingDataset.Sha256, trainingRows.ConvertAll(row => row.Text)),
        };
        if (job.UnlabelledDatasetId is { } unlabelledId)
        {
            var (dataset, rows) = await ReadDatasetAsync(db, unlabelledId, "unlabelled", cancellationToken);
            sets.Add((dataset.Id, dataset.Sha256, rows.ConvertAll(row => row.Text)));
        }

        if (hyperparameters.DistillationTransferCopies > 0)
        {
            var made = Stopwatch.StartNew();
            var variants = TransferSet.Generate(
                [.. train.Select(row => row.Text).Concat(sets.Skip(1).SelectMany(set => set.Texts)).Distinct(StringComparer.Ordinal)],
                hyperparameters.DistillationTransferCopies, hyperparameters.DistillationWordReplacement, hyperparameters.Seed, wordNeighbours);
            // Which rows the student trains on depends on the split too (its fraction and the seed) when validation is
            // split off the training dataset.
            var sources = sets.Select(set => set.Sha256)
                .Append(job.ValidationDatasetId is null ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"split:{job.ValidationSplit ?? 0.1:R}") : "no split");
            string identity = TransferSet.Identity(sources, hyperparameters.DistillationTransferCopies, hyperparameters.DistillationWordReplacement, hyperparameters.Seed);
            await events.AppendAsync(job.Id, "info", JobEventTypes.TransferSet,
                $"Transfer set: {variants.Count} variants of the job's texts with words replaced by their nearest words ({hyperparameters.DistillationTransferCopies} per text, each word with probability {hyperparameters.DistillationWordReplacement:0.##}), made in {made.Elapsed.TotalSeconds:F1} s.",
                new { variants = variants.Count, copies = hyperparameters.DistillationTransferCopies, word_replacement = hyperparameters.DistillationWordReplacement, seconds = Math.Round(made.Elapsed.TotalSeconds, 2), examples = variants.Take(3) },
                cancellationToken);
            sets.Add((null, identity, variants));
        }

        foreach (var (datasetId, sha256, texts) in sets)
        {
            DatasetTeacherOutputs outputs;
            try
            {
                outputs = await teacherOutputs.GetAsync(teacher, sha256, texts, heartbeat.Beat, cancellationToken);
            }
            catch (Exception e) when (e is InvalidDataException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                throw new TrainingFailedException(TrainingFailedException.TeacherUnusable, $"The teacher {job.DistillFrom} cannot be run: {e.Message}", e);
            }

            if (outputs.Labels != labels.Length)
            {
                throw new TrainingFailedException(TrainingFailedException.TeacherUnusable, $"The teacher {job.DistillFrom}'s ONNX graph has {outputs.Labels} outputs for its {labels.Length} labels.");
            }

            for (int row = 0; row < texts.Count; row++)
            {
                logitsByText[texts[row]] = outputs.Logits.AsMemory(row * outputs.Labels, outputs.Labels);
            }

            string what = datasetId is null ? "the transfer set" : $"dataset {datasetId}";
            await events.AppendAsync(job.Id, "info", JobEventTypes.TeacherOutputs,
                outputs.FromCache
                    ? $"Teacher {job.DistillFrom}'s outputs over {what} read from the cache ({outputs.Rows} texts, {outputs.Seconds:F1} s)."
                    : $"Teacher {job.DistillFrom} scored {what} ({outputs.Rows} texts in {outputs.Seconds:F1} s); the outputs are kept for the next student.",
                new { teacher = job.DistillFrom, dataset_id = datasetId, transfer_set = datasetId is null, cache_hit = outputs.FromCache, rows = outputs.Rows, seconds = Math.Round(outputs.Seconds, 2) },
                cancellationToken);
        }

        // Unlabelled texts and transfer-set variants are learnt from through the teacher alone.
        var unlabelled = sets.Skip(1).SelectMany(set => set.Texts).ToList();
        return (new TeacherTargets { Labels = labels, LogitsByText = logitsByText, UnlabelledTexts = unlabelled }, $"{teacher.ModelName}:{teacher.Version}");
    }

    private static string Describe(ExportedModel exported) =>
        $"Exported to ONNX (opset {OnnxGraphBuilder.OpsetVersion}, {exported.Onnx.LongLength / 1024.0 / 1024.0:F1} MiB); "
        + $"logits match the network within {exported.Parity.MaxAbsDifference:G3}."
        + (exported.Quantization is { } q
            ? $" INT8: {q.Int8.SizeBytes / 1024.0 / 1024.0:F1} MiB, accuracy change {q.AccuracyChange:+0.0000;-0.0000;0}, speed-up {q.SpeedupBatch1:F2}x (1 text) and {q.SpeedupBatch32:F2}x (32 texts)."
            : string.Empty);

    private static string Summarize(EvaluationReport evaluation) =>
        $"Validation: accuracy {evaluation.Accuracy:P2}, macro-F1 {evaluation.MacroF1:F4} on {evaluation.Examples} rows"
        + (evaluation.OutOfScope is { } oos
            ? $"; out-of-scope threshold {oos.Threshold:F3}: in-scope accuracy {oos.InScopeAccuracy:P2}, out-of-scope recall {oos.OutOfScopeRecall:P2}."
            : ".");

    /// <summary>
    /// Stores the final model and registers it as the next version of the job's model name; a sweep's trial keeps the
    /// version on its row instead, for its sweep to register (see <see cref="Sweeps.SweepOrchestrator"/>).
    /// </summary>
    private async Task<PublishedModel> PublishAsync(FineTuningJob job, TrainingResult result, ExportedModel exported, string? teacher, CancellationToken cancellationToken)
    {
        StoredArtifact stored;
        await using (var write = artifacts.BeginWrite($"models/{job.Model}/{job.Id}.ckpt"))
        {
            result.Model.WriteTo(write);
            stored = await write.CommitAsync(cancellationToken);
        }

        var onnx = await StoreAsync($"models/{job.Model}/{job.Id}.onnx", exported.Onnx, cancellationToken);
        var quantized = exported.Quantized is null ? null : await StoreAsync($"models/{job.Model}/{job.Id}.int8.onnx", exported.Quantized, cancellationToken);

        string evaluationJson = JsonSerializer.Serialize(result.Evaluation, TrainingJson.Options);
        var prepared = new PreparedModelVersion(
            result.Model.Architecture,
            JsonSerializer.Serialize(result.Model.Labels, TrainingJson.Options),
            evaluationJson,
            result.Model.OutOfScopeThreshold,
            stored.Key,
            stored.Sha256,
            stored.SizeBytes,
            onnx.Key,
            onnx.Sha256,
            onnx.SizeBytes,
            (int)OnnxGraphBuilder.OpsetVersion,
            JsonSerializer.Serialize(exported.Parity, TrainingJson.Options),
            quantized?.Key,
            quantized?.Sha256,
            quantized?.SizeBytes,
            exported.Quantization is null ? null : JsonSerializer.Serialize(exported.Quantization, TrainingJson.Options),
            teacher);

        if (job.SweepId is not null)
        {
            await lease.UpdateAsync(job.Id, (row, _) =>
            {
                row.EvaluationJson = evaluationJson;
                row.PendingVersionJson = prepared.ToJson();
            }, release: false, cancellationToken);
            return new PublishedModel(job.Model, null);
        }

        int version = await prepared.RegisterAsync(scopes, job.Model, job.Id, clock, alongside: null, cancellationToken);
        await lease.UpdateAsync(job.Id, (row, _) => row.EvaluationJson = evaluationJson, release: false, cancellationToken);
        return new PublishedModel(job.Model, version);
    }

    private async Task<StoredArtifact> StoreAsync(string key, byte[] content, CancellationToken cancellationToken)
    {
        await using var write = artifacts.BeginWrite(key);
        await write.WriteAsync(content, cancellationToken);
        return await write.CommitAsync(cancellationToken);
    }

    private async Task<(Dataset Dataset, List<LabelledText> Rows)> ReadDatasetAsync(ServiceDbContext db, string datasetId, string role, CancellationToken cancellationToken)
    {
        var dataset = await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.Id == datasetId, cancellationToken)
            ?? throw new TrainingFailedException(TrainingFailedException.InvalidData, $"The {role} dataset {datasetId} no longer exists.");
        var rows = new List<LabelledText>(dataset.RowCount);
        await using var stream = await artifacts.OpenReadAsync(dataset.ArtifactKey, dataset.Sha256, dataset.SizeBytes, cancellationToken);
        await foreach (var row in DatasetRowReader.ReadAsync(stream, cancellationToken))
        {
            rows.Add(row);
        }

        return (dataset, rows);
    }

    private async Task<TrainingCheckpoint?> LatestCheckpointAsync(ServiceDbContext db, string jobId, CancellationToken cancellationToken)
    {
        var latest = await db.JobCheckpoints.AsNoTracking()
            .Where(c => c.JobId == jobId && c.ArtifactKey != null)
            .OrderByDescending(c => c.Epoch)
            .FirstOrDefaultAsync(cancellationToken);
        if (latest is null)
        {
            return null;
        }

        await using var stream = await artifacts.OpenReadAsync(latest.ArtifactKey!, latest.Sha256, latest.SizeBytes, cancellationToken);
        return TrainingCheckpoint.ReadFrom(stream);
    }

    private async Task<PretrainedWordVectors> WordVectorsAsync(string jobId, string id, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        PretrainedWordVectors vectors;
        bool computed;
        try
        {
            (vectors, computed) = await wordVectorCache.GetAsync(id, cancellationToken);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidDataException or IOException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new TrainingFailedException(TrainingFailedException.BaseModelUnusable, $"The word vectors' source {id} cannot be used: {e.Message}", e);
        }

        double seconds = Math.Round(clock.Elapsed.TotalSeconds, 1);
        await events.AppendAsync(jobId, "info", JobEventTypes.WordVectors,
            $"Word vectors of {id}: {vectors.Words.Count:N0} words of width {vectors.Width}, {(computed ? $"computed in {seconds:F1} s" : $"kept from an earlier job ({seconds:F1} s)")}.",
            new { source = id, words = vectors.Words.Count, width = vectors.Width, computed, seconds },
            cancellationToken);
        return vectors;
    }

    private async Task<PretrainedEncoder> LoadEncoderAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await baseModels.LoadAsync(id, cancellationToken);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidDataException or IOException)
        {
            throw new TrainingFailedException(TrainingFailedException.BaseModelUnusable, $"The base model {id} cannot be used: {e.Message}", e);
        }
    }

    private async Task<TrainingCheckpoint> BaseModelAsync(ServiceDbContext db, string reference, CancellationToken cancellationToken)
    {
        if (!ModelReference.TryParse(reference, out var model))
        {
            throw new TrainingFailedException(TrainingFailedException.BaseModelUnusable, $"'{reference}' does not name a model version.");
        }

        var row = await db.ModelVersions.AsNoTracking().FirstOrDefaultAsync(v => v.ModelName == model.Name && v.Version == model.Version, cancellationToken)
            ?? throw new TrainingFailedException(TrainingFailedException.BaseModelUnusable, $"The base model {reference} no longer exists.");
        await using var stream = await artifacts.OpenReadAsync(row.CheckpointArtifactKey, row.CheckpointSha256, row.CheckpointSizeBytes, cancellationToken);
        return TrainingCheckpoint.ReadFrom(stream);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fine-tuning job {JobId} trained {Epochs} epoch(s), best {BestEpoch}, in {Seconds:F1} s")]
    private static partial void LogTrained(ILogger logger, string jobId, int epochs, int bestEpoch, double seconds);
}
