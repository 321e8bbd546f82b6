using TorchSharp;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>The constant scalars the training code hands to libtorch, made once and kept for the process.</summary>
/// <remarks>
/// TorchSharp turns a number passed where it takes a <see cref="Scalar"/> into a temporary native scalar and gives
/// libtorch only its raw handle: nothing keeps the temporary alive during the call, so a collection on another thread
/// can finalize it while libtorch reads it. In long runs that surfaced as libtorch assertions at
/// <c>c10/core/Scalar.h</c> ("INTERNAL ASSERT FAILED", and "Expected false to be true" in <c>toFloat</c>, 11,000 steps
/// into a 38,890-step run). So every scalar on the training step is explicit: constants come from here, values fixed
/// for a module are its fields, values that change per call are <c>using</c> locals alive to the end of the call. That
/// includes overloads whose scalar argument has a default: <c>add(Tensor)</c>, and so the <c>+</c> operator, passes an
/// implicit <c>alpha</c> of 1, as <c>add_(Scalar)</c> does; <c>1 - tensor</c> is <c>negative().add(1)</c>.
/// </remarks>
internal static class TorchScalars
{
    public static Scalar Zero { get; } = 0.ToScalar();

    public static Scalar One { get; } = 1.ToScalar();

    /// <summary>
    /// <c>1 − mask</c> without TorchSharp's <c>1 - tensor</c> operator, which is <c>negative().add(1)</c>: two implicit
    /// scalars (the 1 and <c>add</c>'s alpha). A new tensor: a mask already of the wanted type is not changed.
    /// </summary>
    public static Tensor OneMinus(Tensor mask) => mask.negative().add_(One, alpha: One);

    /// <summary><see cref="SelfAttention.MaskedScore"/>: what padded positions get so that softmax or a maximum ignores them.</summary>
    public static Scalar MaskedScore { get; } = SelfAttention.MaskedScore.ToScalar();
}
