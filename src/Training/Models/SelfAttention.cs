using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>
/// Multi-head self-attention over the unmasked keys, shared by <see cref="TransformerClassifier"/> and
/// <see cref="BertClassifier"/>: the maths is the same (scaled dot product, the padding mask added to the scores,
/// softmax, attention dropout, an output projection); only where the layer norms sit differs, and that is the
/// layers' business.
/// </summary>
/// <remarks>
/// State dict: <c>{query,key,value,output}.{weight [width, width], bias [width]}</c>. Written out from Linear, MatMul
/// and Softmax (no fused kernels) so that the ONNX graph (<c>OnnxLayerWriter.SelfAttention</c>) repeats it exactly:
/// <c>q, k, v = x·Wᵀ + b</c> reshaped to <c>[batch, heads, seq, head_dim]</c>; <c>scores = q·kᵀ / √head_dim + key_bias</c>;
/// <c>softmax</c> over keys; <c>context = probs·v</c> back to <c>[batch, seq, width]</c>; then <c>output</c>.
/// </remarks>
internal sealed class SelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear output;
    private readonly SeededDropout dropout;
    private readonly int heads;
    private readonly int headDim;
    private readonly Scalar scale;

    /// <summary>Added to the scores of padded keys: exp of it underflows to 0, as with BERT's own constant.</summary>
    internal const float MaskedScore = -1e9f;

    public SelfAttention(int width, int heads, double dropout, Generator? generator)
        : base(nameof(SelfAttention))
    {
        this.heads = heads;
        headDim = width / heads;
        scale = Math.Sqrt(headDim).ToScalar();
        query = nn.Linear(width, width);
        key = nn.Linear(width, width);
        value = nn.Linear(width, width);
        output = nn.Linear(width, width);
        foreach (var projection in new[] { query, key, value, output })
        {
            SeededInit.Linear(projection, generator);
        }

        this.dropout = new SeededDropout(dropout);
        register_module("query", query);
        register_module("key", key);
        register_module("value", value);
        register_module("output", output);
        register_module("dropout", this.dropout);
    }

    /// <summary>Children are registered by name above (see <see cref="TextClassifierModule"/>).</summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>
    /// The bias <see cref="forward"/> adds to the scores, <c>[batch, 1, 1, seq]</c> from an attention mask
    /// <c>[batch, seq]</c>: 0 where a key may be attended to, <see cref="MaskedScore"/> where it is padding. Computed
    /// once per batch and shared by every layer.
    /// </summary>
    public static Tensor KeyBias(Tensor attentionMask, ScalarType dtype) =>
        TorchScalars.OneMinus(attentionMask.to_type(dtype)).mul(TorchScalars.MaskedScore).unsqueeze(1).unsqueeze(1);

    /// <param name="x">The sequence, <c>[batch, seq, width]</c>.</param>
    /// <param name="keyBias">Added to the scores, <c>[batch, 1, 1, seq]</c>: 0 for real keys, a large negative number for padding.</param>
    public override Tensor forward(Tensor x, Tensor keyBias)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0];
        long length = x.shape[1];
        var q = SplitHeads(query.forward(x), batch, length);
        var k = SplitHeads(key.forward(x), batch, length);
        var v = SplitHeads(value.forward(x), batch, length);
        var scores = q.matmul(k.transpose(-2, -1)).div(scale).add(keyBias, TorchScalars.One);
        var probabilities = dropout.forward(nn.functional.softmax(scores, -1));
        var context = probabilities.matmul(v).transpose(1, 2).reshape(batch, length, heads * headDim);
        return output.forward(context).MoveToOuterDisposeScope();
    }

    private Tensor SplitHeads(Tensor projected, long batch, long length) =>
        projected.reshape(batch, length, heads, headDim).transpose(1, 2);
}
