using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Distillation;

/// <summary>A teacher's logits over one dataset.</summary>
/// <param name="Logits">Row-major <c>[Rows, Labels]</c>, in the dataset's stored row order.</param>
/// <param name="Rows">The dataset's rows.</param>
/// <param name="Labels">The teacher's labels (logit columns).</param>
/// <param name="FromCache">Whether they were read back rather than computed for this call.</param>
/// <param name="Seconds">Time spent reading or computing them.</param>
public sealed record DatasetTeacherOutputs(float[] Logits, int Rows, int Labels, bool FromCache, double Seconds);

/// <summary>
/// Runs a teacher's exported ONNX graph over a dataset's texts and keeps the logits, so that the next student of the
/// same teacher on the same dataset reads them instead of paying for the teacher again. Outputs are identified by the
/// SHA-256 of the teacher's ONNX file and of the dataset's stored file (a <see cref="TeacherOutputs"/> row; the
/// floats live in the artifact store). The teacher runs through ONNX Runtime with the session and tokenizer code
/// that serving uses, on every core, in batches of texts of similar length (so little of a batch is padding).
/// </summary>
public sealed class TeacherOutputCache(IServiceScopeFactory scopes, IArtifactStore artifacts, TimeProvider clock)
{
    /// <summary>Texts per ONNX Runtime run: large enough to keep the cores busy, small enough to bound padding.</summary>
    internal const int BatchSize = 64;

    /// <summary>The teacher's logits over <paramref name="texts"/> (a dataset's rows in stored order, or a transfer set).</summary>
    /// <param name="teacher">The teacher version; it must have an ONNX artifact.</param>
    /// <param name="textsSha256">What identifies the texts: the dataset's SHA-256, or a transfer set's <see cref="TransferSet.Identity"/>.</param>
    /// <param name="texts">Every text, in the dataset's stored order or the order the transfer set made them.</param>
    /// <param name="onBatch">Called after every batch the teacher runs (a worker's sign of life: a large teacher over a large dataset takes minutes).</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public async Task<DatasetTeacherOutputs> GetAsync(ModelVersion teacher, string textsSha256, IReadOnlyList<string> texts, Action? onBatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentException.ThrowIfNullOrEmpty(textsSha256);
        ArgumentNullException.ThrowIfNull(texts);
        if (teacher.OnnxArtifactKey is null || teacher.OnnxSha256 is null || teacher.OnnxSizeBytes is null)
        {
            throw new InvalidDataException($"The model version {teacher.ModelName}:{teacher.Version} has no ONNX export to run.");
        }

        var clock = Stopwatch.StartNew();
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            var cached = await db.TeacherOutputs.AsNoTracking()
                .FirstOrDefaultAsync(t => t.TeacherOnnxSha256 == teacher.OnnxSha256 && t.DatasetSha256 == textsSha256, cancellationToken);
            if (cached is not null && cached.Rows == texts.Count
                && await CachedMatrices.TryReadAsync(artifacts, cached.ArtifactKey, cached.Sha256, cached.SizeBytes, cached.Rows, cached.Labels, cancellationToken) is { } logits)
            {
                return new DatasetTeacherOutputs(logits, cached.Rows, cached.Labels, true, clock.Elapsed.TotalSeconds);
            }
        }

        byte[] onnx;
        await using (var stream = await artifacts.OpenReadAsync(teacher.OnnxArtifactKey, teacher.OnnxSha256, teacher.OnnxSizeBytes.Value, cancellationToken))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
            onnx = buffer.ToArray();
        }

        var (computed, labels) = await Task.Factory.StartNew(
            () => Score(onnx, texts, onBatch, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await StoreAsync(teacher.OnnxSha256, textsSha256, computed, texts.Count, labels, cancellationToken);
        return new DatasetTeacherOutputs(computed, texts.Count, labels, false, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Runs the graph over <paramref name="texts"/>: logits <c>[texts, labels]</c> and the label count.</summary>
    internal static (float[] Logits, int Labels) Score(byte[] onnx, IReadOnlyList<string> texts, Action? onBatch, CancellationToken cancellationToken)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            // One large run at a time: ONNX Runtime's pool spreads each over every core.
            IntraOpNumThreads = Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        var session = ClassifierSession.Create(onnx, options, SessionFactory.Cpu);
        try
        {
            int labels = session.LabelCount;
            var logits = new float[texts.Count * labels];
            // Shortest first: a batch is padded to its longest text, so neighbours in length waste the least.
            var order = Enumerable.Range(0, texts.Count).OrderBy(i => texts[i].Length).ToArray();
            var batch = new string[BatchSize];
            for (int start = 0; start < order.Length; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(BatchSize, order.Length - start);
                for (int i = 0; i < count; i++)
                {
                    batch[i] = texts[order[start + i]];
                }

                var run = session.Run(count == BatchSize ? batch : batch[..count]);
                for (int i = 0; i < count; i++)
                {
                    Array.Copy(run.Logits, (long)i * labels, logits, (long)order[start + i] * labels, labels);
                }

                onBatch?.Invoke();
            }

            return (logits, labels);
        }
        finally
        {
            session.Release();
        }
    }

    private Task StoreAsync(string teacherSha256, string datasetSha256, float[] logits, int rows, int labels, CancellationToken cancellationToken) =>
        CachedMatrices.SaveAsync(
            artifacts, scopes, $"distillation/{teacherSha256}/{datasetSha256}.logits", logits, rows, labels,
            db => db.TeacherOutputs,
            t => t.TeacherOnnxSha256 == teacherSha256 && t.DatasetSha256 == datasetSha256,
            stored => new TeacherOutputs
            {
                TeacherOnnxSha256 = teacherSha256,
                DatasetSha256 = datasetSha256,
                Rows = rows,
                Labels = labels,
                ArtifactKey = stored.Key,
                Sha256 = stored.Sha256,
                SizeBytes = stored.SizeBytes,
                CreatedAt = clock.GetUtcNow(),
            },
            cancellationToken);
}
