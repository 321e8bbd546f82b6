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
    public static async Task<int> RunAsync(string datasets, IReadOnlyList<string> checkpoints)
    {
        var validation = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "validation.csv"));
        var test = await TrainingBenchmark.ReadCsvAsync(Path.Combine(datasets, "test.csv"));
        var members = new List<(string Name, float[] Validation, float[] Test, IReadOnlyList<string> Labels)>();
        foreach (string path in checkpoints)
        {
            TrainingCheckpoint checkpoint;
            await using (var stream = File.OpenRead(path))
            {
                checkpoint = TrainingCheckpoint.ReadFrom(stream);
            }

            using var classifier = TrainedClassifier.Load(checkpoint);
            members.Add((Path.GetFileName(path), classifier.Probabilities(validation.Select(r => r.Text).ToList()), classifier.Probabilities(test.Select(r => r.Text).ToList()), classifier.Labels));
            if (!members[^1].Labels.SequenceEqual(members[0].Labels))
            {
                throw new InvalidOperationException("labels differ");
            }

            Report(members[^1].Name, [members[^1]], validation, test);
        }

        for (int size = 2; size <= members.Count; size++)
        {
            foreach (var subset in Subsets(members.Count, size))
            {
                Report(string.Join("+", subset), subset.Select(i => members[i]).ToList(), validation, test);
            }
        }

        return 0;
    }

    private static IEnumerable<int[]> Subsets(int n, int k)
    {
        if (k == 0)
        {
            yield return [];
            yield break;
        }
        for (int first = 0; first < n; first++)
        {
            foreach (var rest in Subsets(n, k - 1).Where(r => r.Length == 0 || r[0] > first))
            {
                yield return [first, .. rest];
            }
        }
    }

    private static void Report(string name, IReadOnlyList<(string Name, float[] Validation, float[] Test, IReadOnlyList<string> Labels)> members, IReadOnlyList<LabelledText> validation, IReadOnlyList<LabelledText> test)
    {
        var labels = members[0].Labels;
        int count = labels.Count;
        float[] Average(Func<(string, float[] Validation, float[] Test, IReadOnlyList<string>), float[]> pick)
        {
            var sum = new float[pick(members[0]).Length];
            foreach (var m in members)
            {
                var p = pick(m);
                for (int i = 0; i < sum.Length; i++)
                {
                    sum[i] += p[i] / members.Count;
                }
            }
            return sum;
        }

        var (vConf, vCorrect, vOos) = Decide(Average(m => m.Validation), labels, validation);
        var choice = OutOfScopeThreshold.Choose(vConf, vCorrect, vOos, ThresholdObjective.Accuracy);
        var (tConf, tCorrect, tOos) = Decide(Average(m => m.Test), labels, test);
        int inScope = 0, inRight = 0, argRight = 0, oos = 0, oosCaught = 0;
        for (int i = 0; i < test.Count; i++)
        {
            if (tOos[i])
            {
                oos++;
                oosCaught += tConf[i] < choice.Threshold ? 1 : 0;
            }
            else
            {
                inScope++;
                argRight += tCorrect[i] ? 1 : 0;
                inRight += tCorrect[i] && tConf[i] >= choice.Threshold ? 1 : 0;
            }
        }
        Console.WriteLine($"| {name} | {100.0 * inRight / inScope:F2} % ({choice.Threshold:F3}) | {100.0 * argRight / inScope:F2} % | {100.0 * oosCaught / oos:F1} % |");
    }

    private static (float[] Confidence, bool[] Correct, bool[] OutOfScope) Decide(float[] probabilities, IReadOnlyList<string> labels, IReadOnlyList<LabelledText> rows)
    {
        int count = labels.Count;
        var confidence = new float[rows.Count];
        var correct = new bool[rows.Count];
        var oos = new bool[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            int best = 0;
            for (int j = 1; j < count; j++)
            {
                best = probabilities[r * count + j] > probabilities[r * count + best] ? j : best;
            }
            confidence[r] = probabilities[r * count + best];
            oos[r] = rows[r].Label == "oos";
            correct[r] = !oos[r] && labels[best] == rows[r].Label;
        }
        return (confidence, correct, oos);
    }
}
