using System.Globalization;

namespace TextClassification.Training.Export;

/// <summary>How one parity batch went: its shape, the two output shapes, and the largest logit difference.</summary>
/// <param name="BatchSize">Rows in the batch.</param>
/// <param name="SequenceLength">Positions per row, padding included.</param>
/// <param name="PaddedRows">Rows that end in padding.</param>
/// <param name="TorchOutputShape">The shape of the network's logits.</param>
/// <param name="OnnxOutputShape">The shape of the ONNX model's output.</param>
/// <param name="MaxAbsDifference">
/// The largest |onnx − torch| over the batch's logits; +∞ when the output shapes differ, NaN when either side
/// produced a NaN.
/// </param>
public sealed record OnnxParityBatchResult(
    int BatchSize,
    int SequenceLength,
    int PaddedRows,
    IReadOnlyList<long> TorchOutputShape,
    IReadOnlyList<long> OnnxOutputShape,
    double MaxAbsDifference)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"[{BatchSize}x{SequenceLength}, {PaddedRows} padded] max |diff| {MaxAbsDifference:G3} (torch [{string.Join(", ", TorchOutputShape)}], onnx [{string.Join(", ", OnnxOutputShape)}])");
}

/// <summary>The outcome of <see cref="OnnxParityCheck.Run"/>: every batch, and the worst difference over all of them.</summary>
public sealed record OnnxParityResult(IReadOnlyList<OnnxParityBatchResult> Batches)
{
    /// <summary>The largest difference over all batches; NaN if any batch has one.</summary>
    public double MaxAbsDifference { get; } = Batches.Any(b => double.IsNaN(b.MaxAbsDifference))
        ? double.NaN
        : Batches.Max(b => b.MaxAbsDifference);

    /// <summary>Whether every logit agrees within <paramref name="tolerance"/> (never when a NaN appeared).</summary>
    public bool Passes(double tolerance = OnnxParityCheck.DefaultTolerance) => MaxAbsDifference <= tolerance;

    /// <summary>The 0-based index of the batch with the largest difference (the first NaN one, if any).</summary>
    public int WorstBatch { get; } = Batches
        .Select((batch, index) => (Difference: double.IsNaN(batch.MaxAbsDifference) ? double.PositiveInfinity : batch.MaxAbsDifference, Index: index))
        .MaxBy(b => b.Difference).Index;

    /// <summary>
    /// One line fit for a job's failure message: the worst difference, the tolerance, the batch it came from, then
    /// each batch.
    /// </summary>
    public string Describe(double tolerance = OnnxParityCheck.DefaultTolerance) => string.Create(
        CultureInfo.InvariantCulture,
        $"ONNX export {(Passes(tolerance) ? "matches" : "does not match")} the network: max |onnx - torch| logit difference {MaxAbsDifference:G3} (tolerance {tolerance:G3}), largest in batch {WorstBatch + 1} of {Batches.Count} {Batches[WorstBatch]}; all batches: {string.Join("; ", Batches)}");

    public override string ToString() => Describe();
}
