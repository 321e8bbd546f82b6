using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Predictions;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Export;
using TextClassification.Training.Loop;
using TextClassification.Training.Models;

namespace TextClassification.Training.Jobs;

/// <summary>What the export step produced for a trained model, ready to store and register.</summary>
/// <param name="Onnx">The float32 graph, checked against the network.</param>
/// <param name="Parity">How far the graph's logits came from the network's, batch by batch.</param>
/// <param name="Quantized">The dynamically quantized graph, when the job asked for one.</param>
/// <param name="Quantization">What quantization changed, measured on the validation rows.</param>
public sealed record ExportedModel(byte[] Onnx, OnnxParityResult Parity, byte[]? Quantized, QuantizationReport? Quantization);

/// <summary>Accuracy and latency of one graph on the validation rows, as ONNX Runtime runs it.</summary>
/// <param name="Accuracy">Accuracy over all validation rows, out-of-scope decisions included.</param>
/// <param name="MacroF1">Macro-F1 over the validation rows.</param>
/// <param name="SizeBytes">The serialized graph's size.</param>
/// <param name="MedianMillisecondsBatch1">Median time of one <c>Run</c> on a single text.</param>
/// <param name="MedianMillisecondsBatch32">Median time of one <c>Run</c> on 32 texts.</param>
public sealed record GraphMeasurement(double Accuracy, double MacroF1, long SizeBytes, double MedianMillisecondsBatch1, double MedianMillisecondsBatch32);

/// <summary>The float32 graph against its dynamically quantized twin, measured side by side in one process.</summary>
public sealed record QuantizationReport(
    string Method,
    GraphMeasurement Float32,
    GraphMeasurement Int8,
    double AccuracyChange,
    double SpeedupBatch1,
    double SpeedupBatch32,
    double SizeRatio,
    int ValidationRows);

/// <summary>
/// Turns a trained checkpoint into the ONNX graph that will be served, and refuses to go on when that graph does not
/// compute what the network computes: the job fails with the largest logit difference rather than publishing a model
/// that answers differently from the one that was evaluated.
/// </summary>
public static class ModelExportStep
{
    /// <summary>Real validation texts mixed into the parity batches, on top of the standard synthetic ones.</summary>
    private const int ParityTexts = 64;

    /// <summary>Timed runs per batch size when measuring a graph's speed; the median is reported.</summary>
    private const int TimedRuns = 40;

    /// <exception cref="TrainingFailedException">The graph does not match the network (<see cref="TrainingFailedException.ExportParityFailed"/>).</exception>
    public static ExportedModel Export(TrainingCheckpoint model, IReadOnlyList<LabelledText> validation, string? quantization, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(validation);
        var metadata = ClassifierOnnxExporter.Metadata(model);
        var tokenizer = new TextTokenizer(model.Tokenizer);

        // The graph is written from, and checked against, the weights on the CPU: ONNX Runtime's CPU kernels are the
        // reference every deployment can run, whatever device trained the model.
        using var module = ClassifierOnnxExporter.LoadServingModule(model);

        byte[] onnx = ClassifierOnnxExporter.Export(module, metadata);
        cancellationToken.ThrowIfCancellationRequested();
        var sample = validation.Take(ParityTexts).Select(r => r.Text).ToList();
        var parity = ClassifierParity.Check(module, onnx, tokenizer, sample);
        if (!parity.Passes())
        {
            throw new TrainingFailedException(TrainingFailedException.ExportParityFailed, parity.Describe());
        }

        if (quantization != ClassifierMetadata.DynamicInt8)
        {
            return new ExportedModel(onnx, parity, null, null);
        }

        cancellationToken.ThrowIfCancellationRequested();
        byte[] quantized = ClassifierOnnxExporter.Export(module, metadata, OnnxQuantization.DynamicInt8);
        var float32 = Measure(onnx, model, tokenizer, validation, cancellationToken);
        var int8 = Measure(quantized, model, tokenizer, validation, cancellationToken);
        var report = new QuantizationReport(
            ClassifierMetadata.DynamicInt8,
            float32,
            int8,
            AccuracyChange: Math.Round(int8.Accuracy - float32.Accuracy, 5),
            SpeedupBatch1: Math.Round(float32.MedianMillisecondsBatch1 / int8.MedianMillisecondsBatch1, 3),
            SpeedupBatch32: Math.Round(float32.MedianMillisecondsBatch32 / int8.MedianMillisecondsBatch32, 3),
            SizeRatio: Math.Round((double)int8.SizeBytes / float32.SizeBytes, 4),
            ValidationRows: validation.Count);
        return new ExportedModel(onnx, parity, quantized, report);
    }

    /// <summary>Scores the validation rows through ONNX Runtime, then times single-text and 32-text runs.</summary>
    private static GraphMeasurement Measure(byte[] graph, TrainingCheckpoint model, TextTokenizer tokenizer, IReadOnlyList<LabelledText> validation, CancellationToken cancellationToken)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(graph, options);
        using var runOptions = new RunOptions();
        int labels = model.Labels.Count;
        var texts = validation.Select(r => r.Text).ToList();
        var probabilities = new float[texts.Count * labels];
        var batch = new TokenizedBatch();
        for (int start = 0; start < texts.Count; start += Scoring.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var slice = texts.GetRange(start, Math.Min(Scoring.BatchSize, texts.Count - start));
            Run(session, runOptions, tokenizer.EncodeBatch(slice, batch), probabilities.AsSpan(start * labels, slice.Count * labels));
        }

        var report = Scoring.Report(model.Labels, model.OutOfScopeLabel, probabilities, validation, model.OutOfScopeThreshold ?? 0);
        var one = tokenizer.EncodeBatch(texts.Take(1).ToList());
        var many = tokenizer.EncodeBatch(Enumerable.Range(0, 32).Select(i => texts[i % texts.Count]).ToList());
        return new GraphMeasurement(
            Math.Round(report.Accuracy, 5),
            Math.Round(report.MacroF1, 5),
            graph.LongLength,
            MedianMilliseconds(session, runOptions, one, labels),
            MedianMilliseconds(session, runOptions, many, labels));
    }

    private static double MedianMilliseconds(InferenceSession session, RunOptions runOptions, TokenizedBatch batch, int labels)
    {
        var output = new float[batch.Count * labels];
        Run(session, runOptions, batch, output);
        var times = new double[TimedRuns];
        for (int i = 0; i < TimedRuns; i++)
        {
            long started = Stopwatch.GetTimestamp();
            Run(session, runOptions, batch, output);
            times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(times);
        return Math.Round(times[TimedRuns / 2], 4);
    }

    /// <summary>Runs one tokenized batch and writes its softmax probabilities, row-major, into <paramref name="probabilities"/>.</summary>
    private static void Run(InferenceSession session, RunOptions runOptions, TokenizedBatch batch, Span<float> probabilities)
    {
        long[] shape = [batch.Count, batch.SequenceLength];
        using var ids = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.InputIds, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.AttentionMask, shape);
        using var outputs = session.Run(runOptions, [ClassifierMetadata.InputIdsName, ClassifierMetadata.AttentionMaskName], [ids, mask], [ClassifierMetadata.LogitsName]);
        var logits = outputs[0].GetTensorDataAsSpan<float>();
        int labels = logits.Length / batch.Count;
        for (int row = 0; row < batch.Count; row++)
        {
            Probabilities.Softmax(logits.Slice(row * labels, labels), probabilities.Slice(row * labels, labels));
        }
    }
}
