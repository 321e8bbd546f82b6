using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>
/// What every architecture is: <c>(input_ids [batch, seq] int64, attention_mask [batch, seq] int64)</c> →
/// <c>logits [batch, labels] float32</c>, built only from operations with a direct ONNX opset 17 counterpart so that
/// the exported graph can mirror it node by node.
/// </summary>
/// <remarks>
/// Every architecture names its output layer <c>classifier</c> (<c>classifier.weight [labels, features]</c>,
/// <c>classifier.bias [labels]</c>): transfer to a new label set rebuilds exactly those two tensors.
/// </remarks>
public abstract class TextClassifierModule : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>State-dict name of the output layer's weight, <c>[labels, features]</c>.</summary>
    public const string ClassifierWeight = "classifier.weight";

    /// <summary>State-dict name of the output layer's bias, <c>[labels]</c>.</summary>
    public const string ClassifierBias = "classifier.bias";

    protected TextClassifierModule(string name)
        : base(name)
    {
    }

    public abstract ModelConfig Config { get; }

    /// <summary>
    /// Makes every <see cref="SeededDropout"/> in the network draw its masks from <paramref name="generator"/> (on the
    /// device the network runs on), so that training does not share torch's process-wide generator.
    /// </summary>
    public void DrawDropoutMasksFrom(Generator? generator)
    {
        foreach (var module in modules())
        {
            if (module is SeededDropout dropout)
            {
                dropout.Generator = generator;
            }
        }
    }

    /// <summary>
    /// Does nothing: every module here registers its children by their documented names in its constructor.
    /// TorchSharp calls this on a child when it is registered and would add each field a second time under its C#
    /// name, doubling the parameters the optimizer sees.
    /// </summary>
    /// <summary>
    /// The tensors the ONNX graph is written from, by state-dict name: the state dict itself unless the module trains
    /// a form that folds into fewer tensors for serving.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> ExportState() => state_dict();

    protected override void RegisterComponents()
    {
    }

    /// <summary>
    /// Mean of <paramref name="states"/> <c>[batch, seq, dim]</c> over the positions where
    /// <paramref name="attentionMask"/> is 1. ONNX: Unsqueeze, Cast, Mul, ReduceSum, ReduceSum, Max, Div. The tokenizer
    /// gives every row at least one position, so the clamp only guards hand-made input.
    /// </summary>
    protected static Tensor MaskedMean(Tensor states, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var mask = attentionMask.unsqueeze(-1).to_type(states.dtype);
        var sum = (states * mask).sum(1);
        var count = mask.sum(1).clamp_min(TorchScalars.One);
        return (sum / count).MoveToOuterDisposeScope();
    }
}
