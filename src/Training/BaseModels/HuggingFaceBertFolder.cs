using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using TextClassification.Inference.Tokenization;
using TextClassification.Training.Checkpoints;
using TextClassification.Training.Models;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// A Hugging Face BERT model folder, checked: <c>config.json</c> (<c>model_type</c> bert and its sizes),
/// <c>model.safetensors</c> (every encoder tensor present, in the shape the config gives), <c>vocab.txt</c> and,
/// when present, <c>tokenizer_config.json</c> (<c>do_lower_case</c>, <c>strip_accents</c>,
/// <c>tokenize_chinese_chars</c>). Pickle checkpoints (<c>pytorch_model.bin</c>) are never opened: unpickling runs
/// code. Checking reads the safetensors header only; <see cref="ReadWeights"/> reads the values when a job needs them.
/// </summary>
/// <param name="Config">The encoder's shape (the head's label count and dropout are set per job).</param>
/// <param name="Tokenizer">WordPiece settings from tokenizer_config.json, or BERT's defaults.</param>
/// <param name="WeightsPath">The folder's model.safetensors.</param>
/// <param name="VocabularyPath">The folder's vocab.txt.</param>
/// <param name="Parameters">Encoder parameters, the head excluded.</param>
public sealed record HuggingFaceBertFolder(BertConfig Config, TokenizerSettings Tokenizer, string WeightsPath, string VocabularyPath, long Parameters)
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string VocabularyFile = "vocab.txt";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    /// <summary>The files an import reads; an archive's other files are listed but never extracted.</summary>
    public static IReadOnlySet<string> ReadFiles { get; } = new HashSet<string>(StringComparer.Ordinal) { ConfigFile, WeightsFile, VocabularyFile, TokenizerConfigFile };

    /// <summary>The safetensors format's own limit on header size (100 MB); a real BERT header is tens of kilobytes.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private static readonly string[] PickleExtensions = [".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"];

    /// <summary>Checks the folder and describes the encoder in it.</summary>
    /// <param name="folder">The extracted files and the names of every file the folder held.</param>
    /// <param name="pooling">How the encoder's states become one vector per text (not part of a Hugging Face folder).</param>
    /// <exception cref="BaseModelImportException">Every problem found, each naming its file and field or tensor.</exception>
    public static HuggingFaceBertFolder Read(ExtractedFolder folder, BertPooling pooling)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var problems = new List<BaseModelProblem>();
        string Path(string file) => System.IO.Path.Combine(folder.Directory, file);
        bool Has(string file) => folder.FileNames.Contains(file) && File.Exists(Path(file));

        if (!Has(WeightsFile))
        {
            var pickles = folder.FileNames.Where(f => PickleExtensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase))).ToList();
            var sharded = folder.FileNames.Where(f => f.StartsWith("model-", StringComparison.Ordinal) && f.EndsWith(".safetensors", StringComparison.Ordinal)).ToList();
            problems.Add(pickles.Count > 0
                ? new(pickles[0], $"{pickles[0]} is a pickle checkpoint, which is never loaded (unpickling runs code). Save the model as {WeightsFile} (save_pretrained(..., safe_serialization=True)) and upload that.")
                : sharded.Count > 0
                    ? new(sharded[0], $"The weights are split into {sharded.Count} shards ({sharded[0]}, ...); a BERT encoder fits in one {WeightsFile}: save it with a larger max_shard_size.")
                    : new(WeightsFile, $"The folder has no {WeightsFile}."));
        }

        if (!Has(VocabularyFile))
        {
            problems.Add(new(VocabularyFile, $"The folder has no {VocabularyFile}: the WordPiece vocabulary is required (tokenizer.json alone is not read)."));
        }

        var config = ReadConfig(Path(ConfigFile), pooling, problems);
        var tokenizer = ReadTokenizerSettings(Has(TokenizerConfigFile) ? Path(TokenizerConfigFile) : null, config?.MaxPositions ?? 512, problems);
        if (config is not null && Has(WeightsFile))
        {
            CheckWeights(Path(WeightsFile), config, problems);
        }

        if (config is not null && Has(VocabularyFile))
        {
            CheckVocabulary(Path(VocabularyFile), tokenizer, config.VocabularySize, problems);
        }

        if (problems.Count > 0)
        {
            throw new BaseModelImportException(BaseModelRefusal.Invalid, problems);
        }

        long parameters = EncoderWeights.ExpectedParameterCount(config!);
        return new HuggingFaceBertFolder(config!, tokenizer, Path(WeightsFile), Path(VocabularyFile), parameters);
    }

    /// <summary>
    /// Reads the encoder tensors of a checked model.safetensors (float32, float16 or bfloat16; widened to float32)
    /// under this project's names; the pooler, pre-training heads and any other tensor are left out.
    /// </summary>
    /// <exception cref="InvalidDataException">The file does not hold what checking found (it changed since).</exception>
    public static EncoderWeights ReadWeights(ReadOnlySpan<byte> safetensors)
    {
        var (entries, dataStart) = SafeTensors.ReadHeader(safetensors, safetensors.Length);
        var body = safetensors[checked((int)dataStart)..];
        var tensors = new Dictionary<string, PretrainedTensor>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (!BertCheckpointNames.TryMap(entry.Name, out string ours))
            {
                continue;
            }

            var bytes = body[(int)entry.Begin..(int)entry.End];
            var values = new float[checked((int)entry.Shape.Aggregate(1L, (a, b) => a * b))];
            switch (entry.DType)
            {
                case "F32":
                    for (int i = 0; i < values.Length; i++)
                    {
                        values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                    }

                    break;
                case "F16":
                    for (int i = 0; i < values.Length; i++)
                    {
                        values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                    }

                    break;
                case "BF16":
                    for (int i = 0; i < values.Length; i++)
                    {
                        // bfloat16 is the top half of a float32.
                        values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                    }

                    break;
                default:
                    throw new InvalidDataException($"Tensor {entry.Name} has dtype {entry.DType}; only F32, F16 and BF16 are read.");
            }

            if (!tensors.TryAdd(ours, new PretrainedTensor(values, entry.Shape)))
            {
                throw new InvalidDataException($"Tensor {entry.Name} appears twice (with and without the 'bert.' prefix).");
            }
        }

        return new EncoderWeights(tensors);
    }

    private static BertConfig? ReadConfig(string path, BertPooling pooling, List<BaseModelProblem> problems)
    {
        if (!File.Exists(path))
        {
            problems.Add(new(ConfigFile, $"The folder has no {ConfigFile}."));
            return null;
        }

        if (ReadJsonObject(path, ConfigFile, problems) is not { } json)
        {
            return null;
        }

        string? modelType = Text(json, "model_type");
        if (modelType != "bert")
        {
            problems.Add(new($"{ConfigFile}:model_type", modelType is null
                ? $"{ConfigFile} has no model_type; only BERT encoders (model_type \"bert\") can be uploaded."
                : $"model_type \"{modelType}\" is not supported; only BERT encoders (model_type \"bert\") can be uploaded."));
            return null;
        }

        int before = problems.Count;
        string? activation = Text(json, "hidden_act") ?? "gelu";
        if (activation != "gelu")
        {
            problems.Add(new($"{ConfigFile}:hidden_act", $"hidden_act \"{activation}\" is not supported; the encoder computes GELU with erf (\"gelu\")."));
        }

        string? positions = Text(json, "position_embedding_type") ?? "absolute";
        if (positions != "absolute")
        {
            problems.Add(new($"{ConfigFile}:position_embedding_type", $"position_embedding_type \"{positions}\" is not supported; only \"absolute\" is."));
        }

        var config = new BertConfig
        {
            VocabularySize = Integer(json, "vocab_size", null, 3, 1_000_000, problems),
            HiddenSize = Integer(json, "hidden_size", null, 1, 8192, problems),
            Layers = Integer(json, "num_hidden_layers", null, 1, 48, problems),
            Heads = Integer(json, "num_attention_heads", null, 1, 256, problems),
            IntermediateSize = Integer(json, "intermediate_size", null, 1, 32768, problems),
            MaxPositions = Integer(json, "max_position_embeddings", null, 1, 65536, problems),
            TypeVocabularySize = Integer(json, "type_vocab_size", 2, 1, 16, problems),
            LayerNormEpsilon = Number(json, "layer_norm_eps", 1e-12, problems),
            Pooling = pooling,
        };
        if (problems.Count == before && config.HiddenSize % config.Heads != 0)
        {
            problems.Add(new($"{ConfigFile}:num_attention_heads", $"num_attention_heads {config.Heads} does not divide hidden_size {config.HiddenSize}."));
        }

        if (problems.Count == before && !(config.LayerNormEpsilon > 0 && config.LayerNormEpsilon < 1e-2))
        {
            problems.Add(new($"{ConfigFile}:layer_norm_eps", $"layer_norm_eps {config.LayerNormEpsilon} must be positive and below 0.01."));
        }

        return problems.Count == before ? config : null;
    }

    private static TokenizerSettings ReadTokenizerSettings(string? path, int maxPositions, List<BaseModelProblem> problems)
    {
        // BertTokenizer's defaults: lower-case (and so strip accents), split CJK characters.
        bool lowerCase = true;
        bool? stripAccents = null;
        bool splitCjk = true;
        if (path is not null && ReadJsonObject(path, TokenizerConfigFile, problems) is { } json)
        {
            lowerCase = Flag(json, "do_lower_case", true, problems) ?? true;
            stripAccents = Flag(json, "strip_accents", null, problems);
            splitCjk = Flag(json, "tokenize_chinese_chars", true, problems) ?? true;
        }

        return new TokenizerSettings
        {
            Kind = TokenizerKind.WordPiece,
            CaseFold = lowerCase,
            StripAccents = stripAccents,
            SplitCjkCharacters = splitCjk,
            MaxSequenceLength = maxPositions,
        };
    }

    /// <summary>
    /// Checks the header against the config: a disagreement in a size is reported once, on the config field, before
    /// the per-tensor list it would otherwise flood.
    /// </summary>
    private static void CheckWeights(string path, BertConfig config, List<BaseModelProblem> problems)
    {
        IReadOnlyList<SafeTensorEntry> entries;
        try
        {
            entries = SafeTensors.ReadHeader(path, MaxHeaderBytes).Entries;
        }
        catch (InvalidDataException e)
        {
            problems.Add(new(WeightsFile, $"{WeightsFile} is not a safetensors file: {e.Message}"));
            return;
        }

        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        int before = problems.Count;
        foreach (var entry in entries)
        {
            if (!BertCheckpointNames.TryMap(entry.Name, out string ours))
            {
                continue;
            }

            if (entry.DType is not ("F32" or "F16" or "BF16"))
            {
                problems.Add(new($"{WeightsFile}:{entry.Name}", $"Tensor {entry.Name} is {entry.DType}; encoder weights must be F32, F16 or BF16."));
            }

            if (!names.TryAdd(ours, entry.Name))
            {
                problems.Add(new($"{WeightsFile}:{entry.Name}", $"Tensor {entry.Name} appears twice (as {names[ours]} too)."));
            }

            shapes[ours] = entry.Shape;
        }

        if (problems.Count > before)
        {
            return;
        }

        // A missing tensor is named as the file names the others: with "bert." when saved from a task model.
        string prefix = names.Values.Any(n => n.StartsWith("bert.", StringComparison.Ordinal)) ? "bert." : string.Empty;
        string HuggingFace(string ours) => names.GetValueOrDefault(ours) ?? prefix + BertCheckpointNames.ToHuggingFace(ours);
        void Disagrees(string field, int configured, string ours, int dimension, string what)
        {
            if (shapes.TryGetValue(ours, out var shape) && shape.Length > dimension && shape[dimension] != configured)
            {
                problems.Add(new($"{ConfigFile}:{field}",
                    $"{ConfigFile} gives {field} {configured}, but {WeightsFile} has {shape[dimension]} {what} in {HuggingFace(ours)} {FormatShape(shape)}."));
            }
        }

        Disagrees("vocab_size", config.VocabularySize, "embeddings.word.weight", 0, "rows");
        Disagrees("hidden_size", config.HiddenSize, "embeddings.word.weight", 1, "columns");
        Disagrees("max_position_embeddings", config.MaxPositions, "embeddings.position.weight", 0, "rows");
        Disagrees("type_vocab_size", config.TypeVocabularySize, "embeddings.token_type.weight", 0, "rows");
        Disagrees("intermediate_size", config.IntermediateSize, "layers.0.feed_forward_in.weight", 0, "rows");
        int layers = shapes.Keys.Where(n => n.StartsWith("layers.", StringComparison.Ordinal))
            .Select(n => int.Parse(n.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1).Max() + 1;
        if (layers > 0 && layers != config.Layers)
        {
            problems.Add(new($"{ConfigFile}:num_hidden_layers", $"{ConfigFile} gives num_hidden_layers {config.Layers}, but {WeightsFile} holds {layers} layers (encoder.layer.0 to encoder.layer.{layers - 1})."));
        }

        if (problems.Count > before)
        {
            return;
        }

        foreach (var (ours, expected) in EncoderWeights.ExpectedShapes(config))
        {
            if (!shapes.TryGetValue(ours, out var actual))
            {
                problems.Add(new($"{WeightsFile}:{HuggingFace(ours)}", $"Tensor {HuggingFace(ours)} is missing from {WeightsFile}."));
            }
            else if (!actual.SequenceEqual(expected))
            {
                problems.Add(new($"{WeightsFile}:{HuggingFace(ours)}", $"Tensor {HuggingFace(ours)} has shape {FormatShape(actual)}; {ConfigFile} asks for {FormatShape(expected)}."));
            }
        }
    }

    private static void CheckVocabulary(string path, TokenizerSettings settings, int vocabularySize, List<BaseModelProblem> problems)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var tokens = TokenizerDefinition.ReadVocabulary(stream);
            if (tokens.Count != vocabularySize)
            {
                problems.Add(new($"{ConfigFile}:vocab_size", $"{VocabularyFile} has {tokens.Count} tokens, but {ConfigFile} gives vocab_size {vocabularySize}; they must agree."));
                return;
            }

            TokenizerDefinition.WordPiece(tokens, settings);
        }
        catch (InvalidDataException e)
        {
            problems.Add(new(VocabularyFile, e.Message));
        }
        catch (ArgumentException e)
        {
            problems.Add(new(VocabularyFile, $"{VocabularyFile} is not a usable WordPiece vocabulary: {e.Message}"));
        }
    }

    private static JsonObject? ReadJsonObject(string path, string file, List<BaseModelProblem> problems)
    {
        try
        {
            using var stream = File.OpenRead(path);
            if (JsonNode.Parse(stream) is JsonObject json)
            {
                return json;
            }
        }
        catch (JsonException e)
        {
            problems.Add(new(file, $"{file} is not valid JSON: {e.Message}"));
            return null;
        }

        problems.Add(new(file, $"{file} is not a JSON object."));
        return null;
    }

    private static string? Text(JsonObject json, string field) =>
        json[field] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static int Integer(JsonObject json, string field, int? fallback, int min, int max, List<BaseModelProblem> problems)
    {
        var node = json[field];
        if (node is null)
        {
            if (fallback is null)
            {
                problems.Add(new($"{ConfigFile}:{field}", $"{ConfigFile} has no {field}."));
            }

            return fallback ?? min;
        }

        if (node is JsonValue value && value.TryGetValue<long>(out long number) && number >= min && number <= max)
        {
            return (int)number;
        }

        problems.Add(new($"{ConfigFile}:{field}", $"{field} must be a whole number from {min} to {max}; it is {node.ToJsonString()}."));
        return fallback ?? min;
    }

    private static double Number(JsonObject json, string field, double fallback, List<BaseModelProblem> problems)
    {
        var node = json[field];
        if (node is null)
        {
            return fallback;
        }

        if (node is JsonValue value && value.TryGetValue<double>(out double number))
        {
            return number;
        }

        problems.Add(new($"{ConfigFile}:{field}", $"{field} must be a number; it is {node.ToJsonString()}."));
        return fallback;
    }

    private static bool? Flag(JsonObject json, string field, bool? fallback, List<BaseModelProblem> problems)
    {
        var node = json[field];
        if (node is null || node.GetValueKind() == JsonValueKind.Null)
        {
            return fallback;
        }

        if (node.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return node.GetValue<bool>();
        }

        problems.Add(new($"{TokenizerConfigFile}:{field}", $"{field} must be true, false or null; it is {node.ToJsonString()}."));
        return fallback;
    }

    private static string FormatShape(long[] shape) => $"[{string.Join(", ", shape)}]";
}
