using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Api.Tests.Models;

/// <summary>What a client outside the service does with a downloaded model: one ONNX Runtime session, nothing else.</summary>
internal static class PlainOnnxRuntime
{
    /// <summary>The arg-max label of each text, encoded with the tokenizer rebuilt from the file's own metadata.</summary>
    public static string[] Labels(byte[] onnx, string[] texts)
    {
        using var session = new InferenceSession(onnx);
        var metadata = ClassifierMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap);
        var batch = new TextTokenizer(metadata.Tokenizer).EncodeBatch(texts);
        long[] shape = [batch.Count, batch.SequenceLength];
        using var ids = OrtValue.CreateTensorValueFromMemory(batch.InputIds.ToArray(), shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(batch.AttentionMask.ToArray(), shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids", "attention_mask"], [ids, mask], ["logits"]);
        var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        int labels = metadata.Labels.Count;
        return Enumerable.Range(0, texts.Length).Select(row => metadata.Labels[ArgMax(logits[(row * labels)..((row + 1) * labels)])]).ToArray();
    }

    public static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
