using System.Text.Json.Nodes;
using TextClassification.TestSupport;
using TextClassification.Training.BaseModels;
using TextClassification.Training.Models;

namespace TextClassification.Training.Tests.BaseModels;

/// <summary>
/// Reading a Hugging Face folder directly (the API tests upload float32 folders through HTTP): half-precision weights
/// widen to the values they hold, tokenizer_config.json's settings reach the tokenizer, and a folder whose parts
/// disagree reports every problem at once.
/// </summary>
public sealed class HuggingFaceBertFolderTests : IDisposable
{
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "你", "好", "##s"];

    private static readonly BertConfig Config = new()
    {
        VocabularySize = Vocabulary.Length, HiddenSize = 4, Layers = 1, Heads = 2, IntermediateSize = 8, MaxPositions = 16,
    };

    private readonly TempDirectory folder = new();

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Half_precision_weights_widen_to_the_values_they_hold(string dtype)
    {
        var shapes = EncoderWeights.ExpectedShapes(Config);
        // Values every format holds exactly (small multiples of 1/8), so widening must return them unchanged.
        var tensors = shapes.ToDictionary(s => s.Key, s => Enumerable.Range(0, (int)s.Value.Aggregate(1L, (a, b) => a * b)).Select(i => ((i % 17) - 8) / 8f).ToArray());
        WriteFolder(dtype, shapes, tensors, """{"do_lower_case": false, "tokenize_chinese_chars": false}""");

        var read = HuggingFaceBertFolder.Read(new ExtractedFolder(folder.Path, Directory.GetFiles(folder.Path).Select(Path.GetFileName).ToList()!), BertPooling.Cls);
        Assert.Equal(Config with { Pooling = BertPooling.Cls }, read.Config);
        Assert.False(read.Tokenizer.CaseFold);
        Assert.False(read.Tokenizer.SplitCjkCharacters);
        Assert.Equal(EncoderWeights.ExpectedShapes(Config).Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)), read.Parameters);

        var weights = HuggingFaceBertFolder.ReadWeights(File.ReadAllBytes(read.WeightsPath));
        Assert.Empty(weights.Check(Config));
        foreach (var (name, values) in tensors)
        {
            Assert.Equal(values, weights.Tensors[name].Values);
            Assert.Equal(shapes[name], weights.Tensors[name].Shape);
        }
    }

    [Fact]
    public void A_folder_whose_parts_disagree_reports_every_problem_naming_file_and_field()
    {
        var shapes = EncoderWeights.ExpectedShapes(Config);
        var tensors = shapes.ToDictionary(s => s.Key, s => new float[s.Value.Aggregate(1L, (a, b) => a * b)]);
        WriteFolder("F32", shapes, tensors, """{"do_lower_case": "yes"}""", config => config["intermediate_size"] = 32);
        File.AppendAllText(Path.Combine(folder.Path, "vocab.txt"), "extra\n");

        var refused = Assert.Throws<BaseModelImportException>(() =>
            HuggingFaceBertFolder.Read(new ExtractedFolder(folder.Path, Directory.GetFiles(folder.Path).Select(Path.GetFileName).ToList()!), BertPooling.Mean));

        Assert.Equal(BaseModelRefusal.Invalid, refused.Refusal);
        var where = refused.Problems.Select(p => p.Where).ToList();
        Assert.Contains("config.json:intermediate_size", where);
        Assert.Contains("config.json:vocab_size", where);
        Assert.Contains("tokenizer_config.json:do_lower_case", where);
        Assert.Contains(refused.Problems, p => p.Message.Contains("[8, 4]", StringComparison.Ordinal)); // what the weights hold
    }

    public void Dispose() => folder.Dispose();

    private void WriteFolder(
        string dtype, IReadOnlyDictionary<string, long[]> shapes, Dictionary<string, float[]> tensors, string tokenizerConfig, Action<JsonObject>? change = null)
    {
        var config = new JsonObject
        {
            ["model_type"] = "bert", ["vocab_size"] = Config.VocabularySize, ["hidden_size"] = 4, ["num_hidden_layers"] = 1,
            ["num_attention_heads"] = 2, ["intermediate_size"] = 8, ["max_position_embeddings"] = 16, ["type_vocab_size"] = 2,
            ["hidden_act"] = "gelu", ["layer_norm_eps"] = 1e-12,
        };
        change?.Invoke(config);
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), config.ToJsonString());
        File.WriteAllText(Path.Combine(folder.Path, "vocab.txt"), string.Join('\n', Vocabulary) + "\n");
        File.WriteAllText(Path.Combine(folder.Path, "tokenizer_config.json"), tokenizerConfig);

        File.WriteAllBytes(Path.Combine(folder.Path, "model.safetensors"), SafeTensorsFile.Write(
            tensors.Select(t => ("bert." + BertCheckpointNames.ToHuggingFace(t.Key), shapes[t.Key], t.Value)), dtype));
    }
}
