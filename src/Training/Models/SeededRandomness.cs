using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TextClassification.Training.Models;

/// <summary>
/// Dropout that draws its masks from a generator the training run owns, not from torch's process-wide one.
/// </summary>
/// <remarks>
/// torch's default generator is shared by everything in the process: a worker building a module to export one job's
/// model (a module's constructor draws its initial weights) while the next job trains took draws that the training
/// run then missed, and its dropout masks, losses and metrics changed. <c>nn.functional.dropout</c> takes no
/// generator, hence this module. In eval mode, or with probability 0, it returns its input and draws nothing.
/// </remarks>
public sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private readonly double probability;

    // What kept elements are divided by, 1 − probability: a field, so libtorch never reads a freed temporary (see TorchScalars).
    private readonly Scalar keep;

    /// <param name="probability">The chance that an element is zeroed in training.</param>
    public SeededDropout(double probability)
        : base(nameof(SeededDropout))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(probability, 1);
        this.probability = probability;
        keep = (1 - probability).ToScalar();
    }

    /// <summary>
    /// The training run's generator, on the device the module runs on (set by
    /// <see cref="TextClassifierModule.DrawDropoutMasksFrom"/>); <see langword="null"/> (a module built only to serve
    /// or export) falls back to torch's default generator, which eval mode never touches.
    /// </summary>
    public Generator? Generator { get; set; }

    public override Tensor forward(Tensor input)
    {
        if (!training || probability == 0)
        {
            return input;
        }

        using var scope = NewDisposeScope();
        var mask = empty_like(input).bernoulli_(1 - probability, Generator);
        return input.mul(mask).div_(keep).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Initial weights drawn from a run's generator (see <see cref="SeededDropout"/> for why not torch's default one).
/// Constructors of the layers still draw from the default generator first; these overwrite every value they drew.
/// </summary>
/// <remarks>
/// The tensor methods are used because TorchSharp 0.107's <c>nn.init.uniform_</c> and <c>nn.init.normal_</c> accept a
/// generator but draw from the default one (checked: their values change when the default generator is reseeded).
/// </remarks>
internal static class SeededInit
{
    /// <summary>
    /// What <c>nn.Linear</c> does (Kaiming-uniform with <c>a = √5</c>, which is U(±1/√fan_in), for the weight and the
    /// same bound for the bias), from <paramref name="generator"/>.
    /// </summary>
    public static void Linear(Linear layer, Generator? generator)
    {
        using var _ = no_grad();
        double bound = 1 / Math.Sqrt(layer.weight!.shape[1]);
        layer.weight.uniform_(-bound, bound, generator);
        layer.bias?.uniform_(-bound, bound, generator);
    }

    /// <summary>Every value of <paramref name="embedding"/> from N(0, <paramref name="std"/>²).</summary>
    public static void Normal(Embedding embedding, double std, Generator? generator)
    {
        using var _ = no_grad();
        embedding.weight!.normal_(0, std, generator);
    }
}
