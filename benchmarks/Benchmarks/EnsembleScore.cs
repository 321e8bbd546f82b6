using System.Numerics.Tensors;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Data;
using TextClassification.Training.Loop;

namespace TextClassification.Benchmarks;

/// <summary>
/// What averaging several published checkpoints' probabilities would score on CLINC150's test split: each checkpoint
/// alone, then every subset of two or more, with the out-of-scope threshold chosen on <c>validation.csv</c> for the
/// average as a job chooses its own. A measurement of whether an ensemble is worth building, not a served model;
/// the best subset is chosen on test here, so only a rule fixed in advance (such as "all of them") is a fair figure.
/// </summary>
internal static class EnsembleScore
{
    /// <summary>A checkpoint's probabilities over the validation and test rows, row-major <c>[rows, labels]</c>.</summary>
    private sealed record Member(string Name, float[] Validation, float[] Test);

    public static async Task<int> RunAsync(string datasets, IReadOnlyList<string> checkpoints)
    {
        var validation = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "validation.csv"));
        var test = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        var members = new List<Member>();
        IReadOnlyList<string>? labels = null;
        foreach (string path in checkpoints)
        {
            TrainingCheckpoint checkpoint;
            await using (var stream = File.OpenRead(path))
            {
                checkpoint = TrainingCheckpoint.ReadFrom(stream);
            }

            using var classifier = TrainedClassifier.Load(checkpoint);
            labels ??= classifier.Labels;
            if (!classifier.Labels.SequenceEqual(labels))
            {
                throw new InvalidOperationException($"{path} has other labels than the first checkpoint; only models of one label set can be averaged.");
            }

            var member = new Member(Path.GetFileName(path), classifier.Probabilities(validation.Select(r => r.Text).ToList()), classifier.Probabilities(test.Select(r => r.Text).ToList()));
            members.Add(member);
            Report(member.Name, [member], labels, validation, test);
        }

        // Every subset of two or more, smallest first: bit i of a mask stands for member i.
        var subsets = Enumerable.Range(1, (1 << members.Count) - 1)
            .Select(mask => Enumerable.Range(0, members.Count).Where(i => (mask & (1 << i)) != 0).ToArray())
            .Where(subset => subset.Length >= 2)
            .OrderBy(subset => subset.Length).ThenBy(subset => string.Join(",", subset.Select(i => i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture))), StringComparer.Ordinal);
        foreach (var subset in subsets)
        {
            Report(string.Join("+", subset), [.. subset.Select(i => members[i])], labels!, validation, test);
        }

        return 0;
    }

    private static void Report(string name, IReadOnlyList<Member> members, IReadOnlyList<string> labels, IReadOnlyList<LabelledText> validation, IReadOnlyList<LabelledText> test)
    {
        var (validationConfidence, validationCorrect, validationOutOfScope) = Decide(Average(members.Select(m => m.Validation)), labels, validation);
        var choice = OutOfScopeThreshold.Choose(validationConfidence, validationCorrect, validationOutOfScope, ThresholdObjective.Accuracy);
        var (confidence, correct, outOfScope) = Decide(Average(members.Select(m => m.Test)), labels, test);
        int inScope = 0, inRight = 0, argRight = 0, oos = 0, oosCaught = 0;
        for (int i = 0; i < test.Count; i++)
        {
            if (outOfScope[i])
            {
                oos++;
                oosCaught += confidence[i] < choice.Threshold ? 1 : 0;
            }
            else
            {
                inScope++;
                argRight += correct[i] ? 1 : 0;
                inRight += correct[i] && confidence[i] >= choice.Threshold ? 1 : 0;
            }
        }

        Console.WriteLine($"| {name} | {100.0 * inRight / inScope:F2} % ({choice.Threshold:F3}) | {100.0 * argRight / inScope:F2} % | {100.0 * oosCaught / oos:F1} % |");
    }

    private static float[] Average(IEnumerable<float[]> probabilities)
    {
        float[]? sum = null;
        int count = 0;
        foreach (var p in probabilities)
        {
            sum ??= new float[p.Length];
            TensorPrimitives.Add(sum, p, sum);
            count++;
        }

        TensorPrimitives.Divide(sum!, count, sum!);
        return sum!;
    }

    /// <summary>Each row's top probability, whether its arg-max is its label, and whether it is out of scope.</summary>
    private static (float[] Confidence, bool[] Correct, bool[] OutOfScope) Decide(float[] probabilities, IReadOnlyList<string> labels, IReadOnlyList<LabelledText> rows)
    {
        int count = labels.Count;
        var confidence = new float[rows.Count];
        var correct = new bool[rows.Count];
        var outOfScope = new bool[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = probabilities.AsSpan(r * count, count);
            int best = TensorPrimitives.IndexOfMax(row);
            confidence[r] = row[best];
            outOfScope[r] = rows[r].Label == "oos";
            correct[r] = !outOfScope[r] && labels[best] == rows[r].Label;
        }

        return (confidence, correct, outOfScope);
    }
}
