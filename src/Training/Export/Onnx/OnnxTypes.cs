namespace TextClassification.Training.Export.Onnx;

/// <summary>
/// The element types the exporter declares for graph values and tensors. Each value is the ONNX
/// <c>TensorProto.DataType</c> number, so it goes on the wire unchanged (and is the <c>to</c> of a Cast).
/// </summary>
public enum OnnxElementType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
}

/// <summary>
/// One dimension of a declared graph input or output: a fixed size, or a named symbol (<c>"batch"</c>,
/// <c>"sequence"</c>) that a runtime leaves free, so each call may use a different size. Converts implicitly from a
/// size or a symbol, so shapes read as <c>("batch", "sequence", 64)</c>.
/// </summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? size, string? symbol)
    {
        Size = size;
        Symbol = symbol;
    }

    /// <summary>The fixed size, or null for a dynamic dimension.</summary>
    public long? Size { get; }

    /// <summary>The symbol of a dynamic dimension, or null for a fixed one.</summary>
    public string? Symbol { get; }

    /// <summary>A dimension of exactly <paramref name="size"/> elements.</summary>
    public static OnnxDim Fixed(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return new OnnxDim(size, null);
    }

    /// <summary>A dynamic dimension; dimensions that share a symbol must have the same size at run time.</summary>
    public static OnnxDim Dynamic(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        return new OnnxDim(null, symbol);
    }

    public static implicit operator OnnxDim(long size) => Fixed(size);

    public static implicit operator OnnxDim(string symbol) => Dynamic(symbol);

    public override string ToString() => Symbol ?? Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
}
