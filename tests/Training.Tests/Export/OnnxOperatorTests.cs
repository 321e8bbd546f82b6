using Microsoft.ML.OnnxRuntime;
using TextClassification.Training.Export.Onnx;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.Export;

/// <summary>The builder's operators that the tiny networks do not use, checked against TorchSharp in ONNX Runtime.</summary>
public sealed class OnnxOperatorTests
{
    [Fact]
    public void Slicing_concatenation_arithmetic_clipping_reduction_and_broadcasting_match_TorchSharp_at_any_shape()
    {
        var b = new OnnxGraphBuilder("operators");
        string x = b.AddInput("x", OnnxElementType.Float, "batch", "sequence", 4);
        string firstTwo = b.Slice(x, starts: [0], ends: [2], axes: [2]);
        string joined = b.Concat(2, firstTwo, b.Tanh(firstTwo));
        string difference = b.Sub(b.Pow(joined, b.Scalar(2f)), b.Sqrt(b.Clip(x, min: 0f, max: 1f)));
        string floored = b.Max(difference, b.Scalar(-0.5f));
        string mean = b.ReduceMean(floored, [1], keepDims: true);
        string shape = b.Shape(x);
        string sum = b.Add(b.Expand(mean, shape), b.ConstantOfShape(shape, 0.25f));
        b.AddOutput(b.Reshape(sum, 0, -1), "y", OnnxElementType.Float, "batch", "flat");
        using var session = new InferenceSession(b.ToModel());
        using var runOptions = new RunOptions();

        foreach (long[] dims in new[] { new long[] { 2, 3, 4 }, [1, 7, 4] })
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(5);
            var input = randn(dims, generator: generator) * 2;
            var narrow = input.narrow(2, 0, 2);
            var expected = (cat([narrow, narrow.tanh()], 2).pow(2) - input.clamp(0, 1).sqrt())
                .clamp_min(-0.5).mean([1], keepdim: true).expand(dims).add(0.25).reshape(dims[0], -1);

            using var value = OrtValue.CreateTensorValueFromMemory(input.data<float>().ToArray(), dims);
            using var outputs = session.Run(runOptions, ["x"], [value], ["y"]);

            Assert.Equal(expected.shape, outputs[0].GetTensorTypeAndShape().Shape);
            float[] actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            float[] wanted = expected.data<float>().ToArray();
            Assert.All(Enumerable.Range(0, wanted.Length), i => Assert.Equal(wanted[i], actual[i], 1e-5f));
        }
    }
}
