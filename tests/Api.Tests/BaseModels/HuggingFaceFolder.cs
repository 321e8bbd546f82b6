using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TextClassification.Training.BaseModels;

namespace TextClassification.Api.Tests.BaseModels;

/// <summary>
/// A Hugging Face BERT model folder written the way <c>save_pretrained</c> writes one (config.json, model.safetensors
/// with Hugging Face's tensor names and <c>[out, in]</c> linear weights, vocab.txt, tokenizer_config.json), as files
/// in memory, and packed into the archives an upload sends. The safetensors file comes from TestSupport's writer, so the
/// service's reader is checked against an independent one.
/// </summary>
internal sealed class HuggingFaceFolder
{
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

    public JsonObject Config { get; private set; } = [];

    public List<(string Name, long[] Shape, float[] Values)> Tensors { get; } = [];

    /// <summary>The built-in all-MiniLM-L6-v2, as its Hugging Face repository holds it (no "bert." prefix; the pooler included).</summary>
    public static HuggingFaceFolder MiniLm()
    {
        var minilm = BuiltInBaseModels.MiniLm;
        var encoder = minilm.Load();
        var folder = new HuggingFaceFolder();
        folder.Config = new JsonObject
        {
            ["architectures"] = new JsonArray("BertModel"),
            ["model_type"] = "bert",
            ["vocab_size"] = 30_522,
            ["hidden_size"] = 384,
            ["num_hidden_layers"] = 6,
            ["num_attention_heads"] = 12,
            ["intermediate_size"] = 1536,
            ["hidden_act"] = "gelu",
            ["max_position_embeddings"] = 512,
            ["type_vocab_size"] = 2,
            ["layer_norm_eps"] = 1e-12,
            ["position_embedding_type"] = "absolute",
        };
        foreach (var (ours, tensor) in encoder.Weights.Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            folder.Tensors.Add((BertCheckpointNames.ToHuggingFace(ours), tensor.Shape, tensor.Values));
        }

        folder.Tensors.Add(("pooler.dense.weight", [384, 384], new float[384 * 384]));
        folder.Tensors.Add(("pooler.dense.bias", [384], new float[384]));
        folder.Files["vocab.txt"] = File.ReadAllBytes(minilm.VocabularyPath);
        folder.Files["tokenizer_config.json"] = Encoding.UTF8.GetBytes("""{"do_lower_case": true, "tokenize_chinese_chars": true, "strip_accents": null, "model_max_length": 512}""");
        return folder;
    }

    /// <summary>
    /// A one-layer BERT of width 8 with random weights and a 24-word vocabulary, saved by BertForSequenceClassification
    /// (every name under "bert.", a classifier head beside): small enough to upload in every refusal test.
    /// </summary>
    public static HuggingFaceFolder Tiny(int seed = 1)
    {
        string[] vocabulary =
        [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "lost", "my", "card", "what", "is", "balance", "will", "it",
            "rain", "tomorrow", "account", "the", "weather", "yesterday", "hello", "there", "##s", "##ed",
        ];
        var folder = new HuggingFaceFolder();
        folder.Config = new JsonObject
        {
            ["model_type"] = "bert",
            ["vocab_size"] = vocabulary.Length,
            ["hidden_size"] = 8,
            ["num_hidden_layers"] = 1,
            ["num_attention_heads"] = 2,
            ["intermediate_size"] = 16,
            ["hidden_act"] = "gelu",
            ["max_position_embeddings"] = 32,
            ["type_vocab_size"] = 2,
            ["layer_norm_eps"] = 1e-12,
        };
        var random = new Random(seed);
        float[] Random(long count) => Enumerable.Range(0, (int)count).Select(_ => (float)((random.NextDouble() - 0.5) * 0.2)).ToArray();
        foreach (var (ours, shape) in EncoderWeights.ExpectedShapes(new Training.Models.BertConfig
        {
            VocabularySize = vocabulary.Length, HiddenSize = 8, Layers = 1, Heads = 2, IntermediateSize = 16, MaxPositions = 32, LabelCount = 1,
        }))
        {
            bool isNormWeight = ours.EndsWith("norm.weight", StringComparison.Ordinal);
            float[] values = isNormWeight ? Enumerable.Repeat(1f, (int)shape[0]).ToArray() : Random(shape.Aggregate(1L, (a, b) => a * b));
            folder.Tensors.Add(("bert." + BertCheckpointNames.ToHuggingFace(ours), shape, values));
        }

        folder.Tensors.Add(("classifier.weight", [3, 8], Random(24)));
        folder.Tensors.Add(("classifier.bias", [3], Random(3)));
        folder.Files["vocab.txt"] = Encoding.UTF8.GetBytes(string.Join('\n', vocabulary) + "\n");
        return folder;
    }

    /// <summary>The folder's files, config.json and model.safetensors written from <see cref="Config"/> and <see cref="Tensors"/>.</summary>
    public IReadOnlyList<(string Name, byte[] Content)> Build(string prefix = "")
    {
        var files = new Dictionary<string, byte[]>(Files, StringComparer.Ordinal)
        {
            ["config.json"] = Encoding.UTF8.GetBytes(Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true })),
            ["model.safetensors"] = TestSupport.SafeTensorsFile.Write(Tensors),
        };
        return files.Select(f => (prefix + f.Key, f.Value)).ToList();
    }

    public static byte[] Zip(IEnumerable<(string Name, byte[] Content)> entries, IEnumerable<(string Name, string Target)>? symlinks = null)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
                using var stream = entry.Open();
                stream.Write(content);
            }

            foreach (var (name, target) in symlinks ?? [])
            {
                var entry = zip.CreateEntry(name);
                // Unix mode in the upper half of the external attributes: a symbolic link (0xA000), rwxrwxrwx.
                entry.ExternalAttributes = unchecked((int)(0xA1FFu << 16));
                using var stream = entry.Open();
                stream.Write(Encoding.UTF8.GetBytes(target));
            }
        }

        return output.ToArray();
    }

    public static byte[] TarGz(IEnumerable<(string Name, byte[] Content)> entries, IEnumerable<(string Name, string Target)>? symlinks = null)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }

            foreach (var (name, target) in symlinks ?? [])
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target });
            }
        }

        return output.ToArray();
    }
}
