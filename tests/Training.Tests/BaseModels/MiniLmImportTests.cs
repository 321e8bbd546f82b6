using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Models;
using TextClassification.Training.Tests.Loop;
using static TorchSharp.torch;

namespace TextClassification.Training.Tests.BaseModels;

/// <summary>
/// The weight mapping is right only if the imported encoder reproduces the package's own ONNX model: the same
/// hidden states, run through TorchSharp, as ONNX Runtime gives for the file, on real texts with padding.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MiniLmImportTests
{
    private static readonly string[] Texts =
    [
        "[CLS] i lost my card , can you block it ? [SEP]",
        "[CLS] what is the weather like in paris today [SEP]",
        "[CLS] hello [SEP]",
        "[CLS] play some jazz music please [SEP]",
    ];

    [Fact]
    public void The_imported_encoder_gives_the_hidden_states_of_the_packaged_onnx_model()
    {
        var minilm = BuiltInBaseModels.MiniLm;
        var vocabulary = File.ReadAllLines(minilm.VocabularyPath).Select((word, id) => (word, id)).ToDictionary(p => p.word, p => (long)p.id);
        var rows = Texts.Select(text => text.Split(' ').Select(word => vocabulary[word]).ToArray()).ToArray();
        int length = rows.Max(r => r.Length);
        var ids = new long[rows.Length * length];
        var mask = new long[rows.Length * length];
        for (int r = 0; r < rows.Length; r++)
        {
            rows[r].CopyTo(ids, r * length);
            mask.AsSpan(r * length, rows[r].Length).Fill(1);
        }

        var weights = OnnxEncoderImport.Read(minilm.ModelPath);
        Assert.Empty(weights.Check(minilm.Config with { LabelCount = 2 }));
        Assert.Equal(22_565_376, weights.ParameterCount); // 22.7 M with the NSP pooler, which fine-tuning does not use
        using var module = new BertClassifier(minilm.Config with { LabelCount = 2 });
        weights.LoadInto(module);
        module.eval();
        float[] ours;
        using (no_grad())
        using (var idTensor = tensor(ids, [rows.Length, length]))
        using (var maskTensor = tensor(mask, [rows.Length, length]))
        using (var states = module.Encode(idTensor, maskTensor))
        {
            ours = states.data<float>().ToArray();
        }

        using var session = new InferenceSession(minilm.ModelPath);
        int[] dims = [rows.Length, length];
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[ids.Length], dims)),
        ]);
        var theirs = results.Single(r => r.Name == "last_hidden_state").AsTensor<float>().ToArray();

        Assert.Equal(theirs.Length, ours.Length);
        // Compared at real positions: padded positions' states are never read (pooling masks them).
        double largest = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            for (int p = 0; p < rows[r].Length; p++)
            {
                for (int h = 0; h < 384; h++)
                {
                    int at = (((r * length) + p) * 384) + h;
                    largest = Math.Max(largest, Math.Abs(theirs[at] - ours[at]));
                }
            }
        }

        Assert.True(largest < 1e-4, $"largest difference {largest:E2}");
    }
}
