using TextClassification.Training.Loop;

namespace TextClassification.Training.Distillation;

/// <summary>
/// What a distilling run learns from besides its labels: the teacher's logits for every text it trains on, and the
/// texts without a label it trains on as well. The teacher's columns are mapped onto the run's labels by name:
/// every label the run trains must be one the teacher predicts (else the teacher cannot teach it), and columns of
/// labels the run lacks are dropped, so the softened targets are the teacher's probabilities renormalised over the
/// run's labels. The teacher's out-of-scope threshold plays no part: an out-of-scope text is one the teacher spreads
/// its probability over, and that spread is what the student learns; the student chooses its own threshold on
/// validation.
/// </summary>
public sealed class TeacherTargets
{
    /// <summary>The teacher's labels, in the order of its logit columns.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>
    /// The teacher's logits by text, each in the order of <see cref="Labels"/>: rows of the arrays the teacher's
    /// outputs came in, not copies (a transfer set holds hundreds of thousands of texts).
    /// </summary>
    public required IReadOnlyDictionary<string, ReadOnlyMemory<float>> LogitsByText { get; init; }

    /// <summary>Texts without a label to train on too (those already among the training rows are not repeated).</summary>
    public IReadOnlyList<string> UnlabelledTexts { get; init; } = [];

    /// <summary>The logits of <paramref name="texts"/>, row-major <c>[texts, labels]</c>, in the order of <paramref name="labels"/>.</summary>
    /// <exception cref="TrainingRequestException">The teacher lacks a label or has no logits for a text.</exception>
    internal float[] LogitsFor(IReadOnlyList<string> texts, IReadOnlyList<string> labels)
    {
        var column = Labels.Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i, StringComparer.Ordinal);
        var missing = labels.Where(label => !column.ContainsKey(label)).Take(5).ToList();
        if (missing.Count > 0)
        {
            throw new TrainingRequestException($"The teacher does not predict the label(s) {string.Join(", ", missing)}, which the training data has.");
        }

        int[] columns = labels.Select(label => column[label]).ToArray();
        var logits = new float[texts.Count * labels.Count];
        for (int row = 0; row < texts.Count; row++)
        {
            if (!LogitsByText.TryGetValue(texts[row], out var teacher) || teacher.Length != Labels.Count)
            {
                throw new TrainingRequestException($"The teacher's outputs lack the text \"{texts[row]}\".");
            }

            var scores = teacher.Span;
            for (int c = 0; c < columns.Length; c++)
            {
                logits[(row * labels.Count) + c] = scores[columns[c]];
            }
        }

        return logits;
    }
}
