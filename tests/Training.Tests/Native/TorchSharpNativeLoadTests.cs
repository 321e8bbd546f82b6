using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Native;

/// <summary>
/// Fails CI when the native TorchSharp library cannot be loaded on this machine (see build/LibTorchSharp.targets).
/// </summary>
public sealed class TorchSharpNativeLoadTests
{
    [Fact]
    public void A_tensor_is_created_and_one_optimizer_step_lowers_the_loss()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var weight = nn.Parameter(zeros(3));
        var target = tensor(new float[] { 1f, -2f, 0.5f });
        var optimizer = optim.SGD(new[] { weight }, learningRate: 0.1);

        var before = nn.functional.mse_loss(weight, target);
        optimizer.zero_grad();
        before.backward();
        optimizer.step();
        var after = nn.functional.mse_loss(weight, target);

        Assert.True(after.item<float>() < before.item<float>());
    }
}
