using System.Globalization;
using System.Text.Json;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Inference.Sessions;

/// <summary>
/// What an exported classifier carries besides its graph, written into the ONNX file's <c>metadata_props</c> so the
/// one file (and the one SHA-256 that guards it) holds everything serving needs: the tokenizer that turns text into
/// <c>input_ids</c>, the labels in logit order, and the out-of-scope threshold. Any ONNX runtime exposes these as
/// custom metadata; the keys are prefixed so they never collide with a runtime's own.
/// </summary>
/// <param name="Architecture">The architecture the graph was exported from, e.g. <c>ngram-bag</c>.</param>
/// <param name="Labels">The labels, in the order of the <c>logits</c> columns.</param>
/// <param name="Tokenizer">The tokenizer training used; serving encodes with exactly this one.</param>
/// <param name="OutOfScopeThreshold">Below this top probability a prediction is out of scope; null when the model has none.</param>
/// <param name="OutOfScopeLabel">The training label that stood for out-of-scope rows, if any; never predicted as such.</param>
/// <param name="Quantization">Null for a float32 graph; <c>dynamic_int8</c> for a dynamically quantized one.</param>
public sealed record ClassifierMetadata(
    string Architecture,
    IReadOnlyList<string> Labels,
    TokenizerDefinition Tokenizer,
    double? OutOfScopeThreshold,
    string? OutOfScopeLabel,
    string? Quantization = null)
{
    public const string ArchitectureKey = "text_classification.architecture";
    public const string LabelsKey = "text_classification.labels";
    public const string TokenizerKey = "text_classification.tokenizer";
    public const string OutOfScopeThresholdKey = "text_classification.out_of_scope_threshold";
    public const string OutOfScopeLabelKey = "text_classification.out_of_scope_label";
    public const string QuantizationKey = "text_classification.quantization";

    /// <summary>The <see cref="Quantization"/> of a dynamically quantized (INT8 weights, run-time quantized activations) graph.</summary>
    public const string DynamicInt8 = "dynamic_int8";

    /// <summary>The graph input that takes token ids, <c>int64 [batch, sequence]</c>.</summary>
    public const string InputIdsName = "input_ids";

    /// <summary>The graph input that takes the attention mask (1 real, 0 padding), <c>int64 [batch, sequence]</c>.</summary>
    public const string AttentionMaskName = "attention_mask";

    /// <summary>The graph output, <c>float32 [batch, labels]</c>, before softmax.</summary>
    public const string LogitsName = "logits";

    /// <summary>The key-value pairs to write into the model's <c>metadata_props</c>.</summary>
    public IReadOnlyDictionary<string, string> ToProperties()
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ArchitectureKey] = Architecture,
            [LabelsKey] = JsonSerializer.Serialize(Labels),
            [TokenizerKey] = Tokenizer.ToJson(),
        };
        if (OutOfScopeThreshold is { } threshold)
        {
            properties[OutOfScopeThresholdKey] = threshold.ToString("R", CultureInfo.InvariantCulture);
        }

        if (OutOfScopeLabel is not null)
        {
            properties[OutOfScopeLabelKey] = OutOfScopeLabel;
        }

        if (Quantization is not null)
        {
            properties[QuantizationKey] = Quantization;
        }

        return properties;
    }

    /// <summary>Reads the metadata back from a model's custom metadata map.</summary>
    /// <exception cref="InvalidDataException">A key is missing or its value cannot be read.</exception>
    public static ClassifierMetadata FromProperties(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        string Required(string key) => properties.TryGetValue(key, out var value) && value.Length > 0
            ? value
            : throw new InvalidDataException($"The model lacks the '{key}' metadata; it was not exported by this service.");

        IReadOnlyList<string> labels;
        try
        {
            labels = JsonSerializer.Deserialize<string[]>(Required(LabelsKey)) ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The model's '{LabelsKey}' metadata is not a JSON array of strings.", e);
        }

        if (labels.Count == 0)
        {
            throw new InvalidDataException($"The model's '{LabelsKey}' metadata lists no labels.");
        }

        double? threshold = null;
        if (properties.TryGetValue(OutOfScopeThresholdKey, out var thresholdText))
        {
            threshold = double.TryParse(thresholdText, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed is >= 0 and <= 1
                ? parsed
                : throw new InvalidDataException($"The model's '{OutOfScopeThresholdKey}' metadata is not a number between 0 and 1.");
        }

        return new ClassifierMetadata(
            Required(ArchitectureKey),
            labels,
            TokenizerDefinition.FromJson(Required(TokenizerKey)),
            threshold,
            properties.GetValueOrDefault(OutOfScopeLabelKey),
            properties.GetValueOrDefault(QuantizationKey));
    }
}
