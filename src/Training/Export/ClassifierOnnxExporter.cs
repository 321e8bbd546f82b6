using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Export.Onnx;
using TextClassification.Training.Models;
using TorchSharp;

namespace TextClassification.Training.Export;

/// <summary>
/// Writes a trained classifier as an ONNX model that serving loads as is: inputs <c>input_ids</c> and
/// <c>attention_mask</c> (int64 <c>[batch, sequence]</c>), output <c>logits</c> (float32 <c>[batch, labels]</c>),
/// standard operators of opset 17 only, and the <see cref="ClassifierMetadata"/> in the model's metadata.
/// </summary>
/// <remarks>
/// TorchSharp cannot export ONNX, so each architecture has a graph writer that repeats its forward pass op for op
/// (<see cref="NGramBagOnnxGraph"/>, <see cref="TransformerOnnxGraph"/>, <see cref="BertOnnxGraph"/>). Nothing here proves the two agree; that is
/// <see cref="ClassifierParity"/>'s job, and an export is published only after it passes.
/// </remarks>
public static class ClassifierOnnxExporter
{
    /// <summary>The name of the two inputs' first axis and the output's first axis.</summary>
    public const string BatchAxis = "batch";

    /// <summary>The name of the inputs' second axis.</summary>
    public const string SequenceAxis = "sequence";

    /// <summary>Writes <paramref name="module"/>'s graph and weights, with <paramref name="metadata"/>.</summary>
    /// <param name="module">The network, on any device; only read (its weights are copied, its mode untouched).</param>
    /// <param name="metadata">
    /// What serving needs besides the graph. Its <see cref="ClassifierMetadata.Quantization"/> is set from
    /// <paramref name="quantization"/>, so the file never claims a quantization it does not have.
    /// </param>
    /// <param name="quantization">Whether to store the weights as float32 or quantize them to INT8.</param>
    /// <returns>The serialized ONNX model.</returns>
    /// <exception cref="ArgumentException">
    /// The metadata does not describe this module (another architecture, label count or vocabulary size).
    /// </exception>
    public static byte[] Export(TextClassifierModule module, ClassifierMetadata metadata, OnnxQuantization quantization = OnnxQuantization.None)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(metadata);
        if (!Enum.IsDefined(quantization))
        {
            throw new ArgumentOutOfRangeException(nameof(quantization), quantization, "Unknown quantization.");
        }

        var config = module.Config;
        string architecture = ArchitectureOf(config);
        RequireMatching(metadata, config, architecture);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var builder = new OnnxGraphBuilder(architecture);
        string ids = builder.AddInput(ClassifierMetadata.InputIdsName, OnnxElementType.Int64, BatchAxis, SequenceAxis);
        string mask = builder.AddInput(ClassifierMetadata.AttentionMaskName, OnnxElementType.Int64, BatchAxis, SequenceAxis);
        var layers = new OnnxLayerWriter(builder, module.ExportState(), quantization);
        string logits = config switch
        {
            NGramBagConfig bag => NGramBagOnnxGraph.Write(layers, bag, ids, mask),
            TransformerConfig encoder => TransformerOnnxGraph.Write(layers, encoder, ids, mask),
            BertConfig bert => BertOnnxGraph.Write(layers, bert, ids, mask),
            _ => throw new NotSupportedException($"No ONNX graph writer for {config.GetType().Name}."),
        };
        builder.AddOutput(logits, ClassifierMetadata.LogitsName, OnnxElementType.Float, BatchAxis, config.LabelCount);

        var written = metadata with { Quantization = quantization == OnnxQuantization.DynamicInt8 ? ClassifierMetadata.DynamicInt8 : null };
        return builder.ToModel(written.ToProperties(), $"{architecture} text classifier over {metadata.Labels.Count} labels");
    }

    /// <summary>
    /// Exports the serving weights of a finished run (its best epoch's, when it kept them), with the metadata the
    /// checkpoint carries.
    /// </summary>
    public static byte[] Export(TrainingCheckpoint checkpoint, OnnxQuantization quantization = OnnxQuantization.None)
    {
        using var module = LoadServingModule(checkpoint);
        return Export(module, Metadata(checkpoint), quantization);
    }

    /// <summary>The metadata a model exported from <paramref name="checkpoint"/> carries (float32; the exporter sets quantization).</summary>
    public static ClassifierMetadata Metadata(TrainingCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return new ClassifierMetadata(checkpoint.Architecture, checkpoint.Labels, checkpoint.Tokenizer, checkpoint.OutOfScopeThreshold, checkpoint.OutOfScopeLabel);
    }

    /// <summary>The checkpoint's network on the CPU, in eval mode, holding its serving weights; the caller disposes it.</summary>
    internal static TextClassifierModule LoadServingModule(TrainingCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var module = ArchitectureRegistry.Get(checkpoint.Architecture).Create(checkpoint.ModelConfig);
        try
        {
            ModelWeights.Load(module, checkpoint.ServingWeights);
            module.eval();
            return module;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    private static string ArchitectureOf(ModelConfig config) =>
        ArchitectureRegistry.All.FirstOrDefault(a => a.DefaultConfig.GetType() == config.GetType())?.Name
        ?? throw new NotSupportedException($"{config.GetType().Name} belongs to no registered architecture.");

    /// <summary>
    /// Metadata that disagrees with the graph would make serving decode logits with the wrong labels or encode text
    /// into ids the embedding does not have; both fail quietly at run time, so they are refused here.
    /// </summary>
    private static void RequireMatching(ClassifierMetadata metadata, ModelConfig config, string architecture)
    {
        if (metadata.Architecture != architecture)
        {
            throw new ArgumentException($"The metadata names architecture '{metadata.Architecture}' but the module is a {architecture}.", nameof(metadata));
        }

        if (metadata.Labels.Count != config.LabelCount)
        {
            throw new ArgumentException($"The metadata lists {metadata.Labels.Count} labels but the module has {config.LabelCount} outputs.", nameof(metadata));
        }

        int tokenizerVocabulary = new TextTokenizer(metadata.Tokenizer).VocabularySize;
        if (tokenizerVocabulary != config.VocabularySize)
        {
            throw new ArgumentException($"The metadata's tokenizer produces {tokenizerVocabulary} ids but the module's embedding has {config.VocabularySize} rows.", nameof(metadata));
        }
    }
}
