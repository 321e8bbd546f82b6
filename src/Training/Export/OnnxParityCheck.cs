using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace TextClassification.Training.Export;

/// <summary>
/// Runs the same batches through an exported ONNX model (in ONNX Runtime, as serving will) and through the
/// TorchSharp network it came from, and reports how far the logits differ. An export is published only when the
/// two agree: a graph can load and run and still compute something else.
/// </summary>
public static class OnnxParityCheck
{
    /// <summary>The largest absolute logit difference an export may show; float32 kernels differ by far less.</summary>
    public const double DefaultTolerance = 1e-4;

    /// <summary>
    /// Runs every batch through both and compares the logits element by element. All batches go through one
    /// session, so batches of different shapes also prove the model's batch and sequence axes are dynamic.
    /// </summary>
    /// <param name="onnxModel">The serialized ONNX model.</param>
    /// <param name="network">
    /// Runs the TorchSharp network on <c>(input_ids, attention_mask)</c>, both <c>[batch, sequence]</c>, and returns
    /// its logits <c>[batch, labels]</c> (<see cref="ToArray"/> converts a logits tensor).
    /// </param>
    /// <param name="batches">
    /// The batches; they must include a batch of one and a row with padding, the two cases an export most often
    /// gets wrong (see <see cref="OnnxParityBatch.Standard"/>).
    /// </param>
    /// <param name="inputIdsName">The model input that takes the token ids.</param>
    /// <param name="attentionMaskName">The model input that takes the attention mask.</param>
    /// <exception cref="ArgumentException">The batches lack a batch of one or a padded row.</exception>
    /// <exception cref="InvalidOperationException">The model does not have exactly these two inputs and one output.</exception>
    public static OnnxParityResult Run(
        byte[] onnxModel,
        Func<long[,], long[,], float[,]> network,
        IReadOnlyList<OnnxParityBatch> batches,
        string inputIdsName = "input_ids",
        string attentionMaskName = "attention_mask")
    {
        ArgumentNullException.ThrowIfNull(onnxModel);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(batches);
        if (!batches.Any(b => b.BatchSize == 1) || !batches.Any(b => b.PaddedRows > 0))
        {
            throw new ArgumentException("Parity batches must include a batch of one row and a row with padding.", nameof(batches));
        }

        using var options = new SessionOptions();
        using var session = new InferenceSession(onnxModel, options);
        string[] inputNames = [inputIdsName, attentionMaskName];
        if (session.InputNames.Count != 2 || !inputNames.All(session.InputNames.Contains) || session.OutputNames.Count != 1)
        {
            throw new InvalidOperationException(
                $"The model must take exactly [{string.Join(", ", inputNames)}] and return one output; it takes [{string.Join(", ", session.InputNames)}] and returns [{string.Join(", ", session.OutputNames)}].");
        }

        string[] outputNames = [session.OutputNames[0]];
        using var runOptions = new RunOptions();
        var results = new List<OnnxParityBatchResult>(batches.Count);
        foreach (var batch in batches)
        {
            float[,] expected = network(batch.InputIds, batch.AttentionMask);
            long[] shape = [batch.BatchSize, batch.SequenceLength];
            using var ids = OrtValue.CreateTensorValueFromMemory(Flatten(batch.InputIds), shape);
            using var mask = OrtValue.CreateTensorValueFromMemory(Flatten(batch.AttentionMask), shape);
            using var outputs = session.Run(runOptions, inputNames, [ids, mask], outputNames);
            var logits = outputs[0];
            long[] onnxShape = logits.GetTensorTypeAndShape().Shape;
            long[] torchShape = [expected.GetLength(0), expected.GetLength(1)];
            double difference = onnxShape.SequenceEqual(torchShape)
                ? MaxAbsDifference(expected, logits.GetTensorDataAsSpan<float>())
                : double.PositiveInfinity;
            results.Add(new OnnxParityBatchResult(batch.BatchSize, batch.SequenceLength, batch.PaddedRows, torchShape, onnxShape, difference));
        }

        return new OnnxParityResult(results);
    }

    /// <summary>Copies a <c>[batch, labels]</c> float tensor (any device or dtype) into an array.</summary>
    public static float[,] ToArray(torch.Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.dim() != 2)
        {
            throw new ArgumentException($"Logits must be [batch, labels]; got [{string.Join(", ", logits.shape)}].", nameof(logits));
        }

        using var scope = torch.NewDisposeScope();
        var host = logits.detach().to_type(torch.ScalarType.Float32).cpu().contiguous();
        float[] flat = host.data<float>().ToArray();
        var result = new float[host.shape[0], host.shape[1]];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    private static long[] Flatten(long[,] values)
    {
        var flat = new long[values.Length];
        Buffer.BlockCopy(values, 0, flat, 0, values.Length * sizeof(long));
        return flat;
    }

    /// <summary>The largest |expected − actual|, or NaN when either side has a NaN, which must never pass.</summary>
    private static double MaxAbsDifference(float[,] expected, ReadOnlySpan<float> actual)
    {
        double max = 0;
        int columns = expected.GetLength(1);
        for (int i = 0; i < actual.Length; i++)
        {
            float torch = expected[i / columns, i % columns];
            if (torch == actual[i])
            {
                // Also covers equal infinities, whose difference would be NaN.
                continue;
            }

            double difference = Math.Abs((double)torch - actual[i]);
            if (double.IsNaN(difference))
            {
                return double.NaN;
            }

            max = Math.Max(max, difference);
        }

        return max;
    }
}
