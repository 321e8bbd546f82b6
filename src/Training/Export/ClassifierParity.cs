using System.Runtime.InteropServices;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Models;
using TorchSharp;

namespace TextClassification.Training.Export;

/// <summary>
/// Checks an exported classifier against the network it was written from, on synthetic batches that cover the
/// shapes exports get wrong and on real text encoded by the model's own tokenizer.
/// </summary>
public static class ClassifierParity
{
    /// <summary>The most texts in one real-text batch: the size serving's batcher typically runs.</summary>
    public const int MaxTextBatch = 32;

    /// <summary>
    /// Runs <see cref="Batches"/> through <paramref name="onnxModel"/> in ONNX Runtime and through
    /// <paramref name="module"/> (in eval mode, without gradients, on its own device; its mode is restored after) and
    /// reports the largest logit difference; <see cref="OnnxParityResult.Passes"/> holds it to
    /// <see cref="OnnxParityCheck.DefaultTolerance"/>.
    /// </summary>
    /// <param name="module">The network the model was exported from.</param>
    /// <param name="onnxModel">The serialized ONNX model.</param>
    /// <param name="tokenizer">The model's tokenizer, which encodes <paramref name="sampleTexts"/>.</param>
    /// <param name="sampleTexts">Real texts (validation rows, say); may be empty.</param>
    public static OnnxParityResult Check(TextClassifierModule module, byte[] onnxModel, TextTokenizer tokenizer, IReadOnlyList<string> sampleTexts)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(onnxModel);
        var batches = Batches(module.Config, tokenizer, sampleTexts);
        var device = module.parameters().First().device;
        bool wasTraining = module.training;
        module.eval();
        try
        {
            return OnnxParityCheck.Run(onnxModel, (ids, mask) =>
            {
                using var noGrad = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                return OnnxParityCheck.ToArray(module.forward(torch.tensor(ids).to(device), torch.tensor(mask).to(device)));
            }, batches);
        }
        finally
        {
            module.train(wasTraining);
        }
    }

    /// <summary>Checks a model exported from <paramref name="checkpoint"/> against the checkpoint's serving weights.</summary>
    public static OnnxParityResult Check(TrainingCheckpoint checkpoint, byte[] onnxModel, IReadOnlyList<string> sampleTexts)
    {
        using var module = ClassifierOnnxExporter.LoadServingModule(checkpoint);
        return Check(module, onnxModel, new TextTokenizer(checkpoint.Tokenizer), sampleTexts);
    }

    /// <summary>
    /// The batches a check runs: <see cref="OnnxParityBatch.Standard"/> over the model's vocabulary and longest
    /// sequence, then the sample texts encoded as serving encodes them: the first text alone, and all of them in
    /// batches of up to <see cref="MaxTextBatch"/>, right-padded to each batch's longest row.
    /// </summary>
    public static IReadOnlyList<OnnxParityBatch> Batches(ModelConfig config, TextTokenizer tokenizer, IReadOnlyList<string> sampleTexts)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(sampleTexts);
        // A transformer cannot take more positions than its table has; an n-gram bag takes what the tokenizer gives.
        int longest = config switch
        {
            TransformerConfig encoder => Math.Min(encoder.MaxPositions, tokenizer.MaxSequenceLength),
            BertConfig bert => Math.Min(bert.MaxPositions, tokenizer.MaxSequenceLength),
            _ => tokenizer.MaxSequenceLength,
        };
        var batches = new List<OnnxParityBatch>(OnnxParityBatch.Standard(config.VocabularySize, longest, TextTokenizer.PaddingId));
        if (sampleTexts.Count == 0)
        {
            return batches;
        }

        var encoded = new TokenizedBatch();
        batches.Add(Encode(tokenizer, [sampleTexts[0]], encoded));
        for (int start = 0; start < sampleTexts.Count; start += MaxTextBatch)
        {
            var texts = sampleTexts.Skip(start).Take(MaxTextBatch).ToList();
            batches.Add(Encode(tokenizer, texts, encoded));
        }

        return batches;
    }

    private static OnnxParityBatch Encode(TextTokenizer tokenizer, IReadOnlyList<string> texts, TokenizedBatch reuse)
    {
        var batch = tokenizer.EncodeBatch(texts, reuse);
        var ids = new long[batch.Count, batch.SequenceLength];
        var mask = new long[batch.Count, batch.SequenceLength];
        batch.InputIds.Span.CopyTo(MemoryMarshal.CreateSpan(ref ids[0, 0], ids.Length));
        batch.AttentionMask.Span.CopyTo(MemoryMarshal.CreateSpan(ref mask[0, 0], mask.Length));
        return new OnnxParityBatch(ids, mask);
    }
}
