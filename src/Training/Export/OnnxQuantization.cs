namespace TextClassification.Training.Export;

/// <summary>How <see cref="ClassifierOnnxExporter"/> stores weights in the graph it writes.</summary>
public enum OnnxQuantization
{
    /// <summary>Every weight float32: the graph computes what the network computes, to float rounding.</summary>
    None,

    /// <summary>
    /// ONNX Runtime's dynamic quantization, written out with standard operators: linear layers keep uint8 weights
    /// (symmetric per output column) and multiply activations quantized at run time (<c>DynamicQuantizeLinear</c>,
    /// <c>MatMulInteger</c>); token embedding tables keep uint8 rows with a scale and zero point per row. About a
    /// quarter of the size; logits move by quantization error, so the graph is checked by agreement, not parity.
    /// </summary>
    DynamicInt8,
}
