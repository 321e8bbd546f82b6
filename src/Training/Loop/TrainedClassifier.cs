using System.Runtime.InteropServices;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Loop;

/// <summary>
/// A trained network loaded from a checkpoint (its serving weights), for evaluation on held-out data and for checking
/// an exported model against the network it came from.
/// </summary>
public sealed class TrainedClassifier : IDisposable
{
    private readonly TextClassifierModule module;
    private readonly Device device;

    private TrainedClassifier(TrainingCheckpoint checkpoint, TextClassifierModule module, Device device)
    {
        Checkpoint = checkpoint;
        Tokenizer = new TextTokenizer(checkpoint.Tokenizer);
        this.module = module;
        this.device = device;
    }

    public TrainingCheckpoint Checkpoint { get; }

    public TextTokenizer Tokenizer { get; }

    public IReadOnlyList<string> Labels => Checkpoint.Labels;

    public static TrainedClassifier Load(TrainingCheckpoint checkpoint, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        device ??= CPU;
        var module = ArchitectureRegistry.Get(checkpoint.Architecture).Create(checkpoint.ModelConfig);
        try
        {
            module.to(device);
            ModelWeights.Load(module, checkpoint.ServingWeights);
            module.eval();
            return new TrainedClassifier(checkpoint, module, device);
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>Softmax probabilities, row-major <c>[texts, labels]</c>.</summary>
    public float[] Probabilities(IReadOnlyList<string> texts, CancellationToken cancellationToken = default) =>
        Scoring.Probabilities(module, Tokenizer, texts, device, cancellationToken);

    /// <summary>
    /// Evaluates on labelled rows with the checkpoint's out-of-scope label and threshold (rows with that label count
    /// as out of scope; the others must carry one of <see cref="Labels"/>).
    /// </summary>
    public EvaluationReport Evaluate(IReadOnlyList<LabelledText> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var probabilities = Probabilities(rows.Select(r => r.Text).ToList(), cancellationToken);
        return Scoring.Report(Labels, Checkpoint.OutOfScopeLabel, probabilities, rows, Checkpoint.OutOfScopeThreshold ?? 0);
    }

    public void Dispose() => module.Dispose();
}

/// <summary>Running a network over texts and turning its outputs into reports; shared by training and evaluation.</summary>
internal static class Scoring
{
    /// <summary>Rows per forward pass when nothing is learned; bounds memory, not results.</summary>
    public const int BatchSize = 256;

    public static float[] Probabilities(
        TextClassifierModule module, TextTokenizer tokenizer, IReadOnlyList<string> texts, Device device, CancellationToken cancellationToken, Action? onBatch = null)
    {
        int labels = module.Config.LabelCount;
        var result = new float[checked(texts.Count * labels)];
        bool wasTraining = module.training;
        module.eval();
        try
        {
            using var noGrad = no_grad();
            var batch = new TokenizedBatch();
            var slice = new List<string>(BatchSize);
            for (int start = 0; start < texts.Count; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                onBatch?.Invoke();
                slice.Clear();
                for (int i = start; i < Math.Min(start + BatchSize, texts.Count); i++)
                {
                    slice.Add(texts[i]);
                }

                using var scope = NewDisposeScope();
                tokenizer.EncodeBatch(slice, batch);
                var probabilities = nn.functional.softmax(module.forward(ToTensor(batch.InputIds, batch, device), ToTensor(batch.AttentionMask, batch, device)), 1)
                    .cpu().contiguous();
                MemoryMarshal.Cast<byte, float>(probabilities.bytes).CopyTo(result.AsSpan(start * labels));
            }
        }
        finally
        {
            module.train(wasTraining);
        }

        return result;
    }

    /// <summary>A <c>[Count, SequenceLength]</c> int64 tensor holding a copy of one of the batch's buffers.</summary>
    public static Tensor ToTensor(Memory<long> values, TokenizedBatch batch, Device device)
    {
        var tensor = empty([batch.Count, batch.SequenceLength], ScalarType.Int64);
        tensor.bytes = MemoryMarshal.AsBytes(values.Span);
        return device.type == DeviceType.CPU ? tensor : tensor.to(device);
    }

    /// <summary>Arg-max label of each row and its probability.</summary>
    public static (int[] Predicted, float[] Confidence) Decide(ReadOnlySpan<float> probabilities, int labels)
    {
        int rows = probabilities.Length / labels;
        var predicted = new int[rows];
        var confidence = new float[rows];
        for (int row = 0; row < rows; row++)
        {
            var p = probabilities.Slice(row * labels, labels);
            int best = 0;
            for (int c = 1; c < labels; c++)
            {
                if (p[c] > p[best])
                {
                    best = c;
                }
            }

            predicted[row] = best;
            confidence[row] = p[best];
        }

        return (predicted, confidence);
    }

    /// <summary>
    /// The full report: with an out-of-scope label, a row is predicted out of scope when its top probability is below
    /// <paramref name="threshold"/>, and that label is the last row and column of the confusion matrix.
    /// </summary>
    public static EvaluationReport Report(IReadOnlyList<string> labels, string? outOfScopeLabel, ReadOnlySpan<float> probabilities, IReadOnlyList<LabelledText> rows, double threshold)
    {
        var index = Index(labels);
        var (predicted, confidence) = Decide(probabilities, labels.Count);
        var actual = new int[rows.Count];
        int outOfScopeIndex = labels.Count;
        int inScopeTotal = 0;
        int inScopeCorrect = 0;
        int outOfScopeTotal = 0;
        int outOfScopeCaught = 0;
        for (int row = 0; row < rows.Count; row++)
        {
            bool isOutOfScope = outOfScopeLabel is not null && rows[row].Label == outOfScopeLabel;
            actual[row] = isOutOfScope ? outOfScopeIndex
                : index.TryGetValue(rows[row].Label, out int label) ? label
                : throw new ArgumentException($"Row {row} has label \"{rows[row].Label}\", which the model does not know.", nameof(rows));
            if (outOfScopeLabel is not null && confidence[row] < threshold)
            {
                predicted[row] = outOfScopeIndex;
            }

            if (isOutOfScope)
            {
                outOfScopeTotal++;
                outOfScopeCaught += predicted[row] == outOfScopeIndex ? 1 : 0;
            }
            else
            {
                inScopeTotal++;
                inScopeCorrect += predicted[row] == actual[row] ? 1 : 0;
            }
        }

        IReadOnlyList<string> names = outOfScopeLabel is null ? labels : [.. labels, outOfScopeLabel];
        var misclassified = Misclassified(names, rows, actual, predicted, confidence);
        if (outOfScopeLabel is null)
        {
            return EvaluationReport.FromPredictions(labels, actual, predicted) with { Misclassified = misclassified };
        }

        var report = EvaluationReport.FromPredictions(names, actual, predicted);
        return report with
        {
            Misclassified = misclassified,
            ThresholdCurve = ThresholdCurve(probabilities, labels.Count, rows, outOfScopeLabel, index),
            OutOfScope = new OutOfScopeMetrics(
                outOfScopeLabel,
                threshold,
                inScopeTotal == 0 ? 0 : inScopeCorrect / (double)inScopeTotal,
                outOfScopeTotal == 0 ? 0 : outOfScopeCaught / (double)outOfScopeTotal,
                inScopeTotal,
                outOfScopeTotal),
        };
    }

    /// <summary>
    /// In-scope accuracy and out-of-scope recall at thresholds 0, <see cref="EvaluationReport.ThresholdCurveStep"/>, …, 1,
    /// from the arg-max decisions before any threshold: a row is out of scope at threshold t when its top probability is below t.
    /// </summary>
    public static IReadOnlyList<ThresholdPoint> ThresholdCurve(
        ReadOnlySpan<float> probabilities, int labels, IReadOnlyList<LabelledText> rows, string outOfScopeLabel, Dictionary<string, int> index)
    {
        var (predicted, confidence) = Decide(probabilities, labels);
        int steps = (int)Math.Round(1 / EvaluationReport.ThresholdCurveStep);
        var inScopeCorrect = new int[steps + 1];
        var outOfScopeCaught = new int[steps + 1];
        int inScopeTotal = 0;
        int outOfScopeTotal = 0;
        for (int row = 0; row < rows.Count; row++)
        {
            bool isOutOfScope = rows[row].Label == outOfScopeLabel;
            bool correct = !isOutOfScope && index[rows[row].Label] == predicted[row];
            inScopeTotal += isOutOfScope ? 0 : 1;
            outOfScopeTotal += isOutOfScope ? 1 : 0;
            for (int step = 0; step <= steps; step++)
            {
                bool below = confidence[row] < Threshold(step);
                if (isOutOfScope && below)
                {
                    outOfScopeCaught[step]++;
                }
                else if (correct && !below)
                {
                    inScopeCorrect[step]++;
                }
            }
        }

        var curve = new ThresholdPoint[steps + 1];
        for (int step = 0; step <= steps; step++)
        {
            curve[step] = new ThresholdPoint(
                Threshold(step),
                inScopeTotal == 0 ? 0 : inScopeCorrect[step] / (double)inScopeTotal,
                outOfScopeTotal == 0 ? 0 : outOfScopeCaught[step] / (double)outOfScopeTotal);
        }

        return curve;

        // The threshold a point reports is the one it was computed with, so a point on the curve at the chosen
        // threshold agrees with OutOfScope's figures (0.6, not 30 × 0.02 = 0.6000000000000001).
        static double Threshold(int step) => Math.Round(step * EvaluationReport.ThresholdCurveStep, 4);
    }

    /// <summary>The wrongly predicted rows, least confident first (ties in row order), at most <see cref="EvaluationReport.MaxMisclassified"/>.</summary>
    private static List<MisclassifiedExample> Misclassified(
        IReadOnlyList<string> names, IReadOnlyList<LabelledText> rows, int[] actual, int[] predicted, float[] confidence) =>
        Enumerable.Range(0, rows.Count)
            .Where(row => actual[row] != predicted[row])
            .OrderBy(row => confidence[row])
            .ThenBy(row => row)
            .Take(EvaluationReport.MaxMisclassified)
            .Select(row => new MisclassifiedExample(Shorten(rows[row].Text), names[actual[row]], names[predicted[row]], Math.Round(confidence[row], 5)))
            .ToList();

    /// <summary>The text cut to <see cref="EvaluationReport.MaxMisclassifiedTextLength"/> UTF-16 units with "…", never inside a surrogate pair.</summary>
    private static string Shorten(string text)
    {
        int keep = EvaluationReport.MaxMisclassifiedTextLength;
        if (text.Length <= keep)
        {
            return text;
        }

        keep -= char.IsHighSurrogate(text[keep - 1]) ? 1 : 0;
        return string.Concat(text.AsSpan(0, keep), "…");
    }

    public static Dictionary<string, int> Index(IReadOnlyList<string> labels) =>
        labels.Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i, StringComparer.Ordinal);
}
