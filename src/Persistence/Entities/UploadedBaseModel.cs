namespace TextClassification.Persistence.Entities;

/// <summary>
/// A pretrained encoder uploaded as a Hugging Face model folder (built-in encoders ship with the service and have no
/// row). Its weights and vocabulary live in the artifact store, each checked against its SHA-256 when read; the
/// shape and tokenizer settings read from its <c>config.json</c> and <c>tokenizer_config.json</c> are kept here as
/// JSON owned by the training project.
/// </summary>
public sealed class UploadedBaseModel
{
    /// <summary>What jobs name in <c>base_model</c>, chosen by the uploader.</summary>
    public required string Id { get; init; }

    /// <summary>The architecture a job from it trains (<c>bert</c>).</summary>
    public required string Architecture { get; init; }

    /// <summary>The encoder's shape (the training project's <c>BertConfig</c>).</summary>
    public required string ConfigJson { get; init; }

    /// <summary>The WordPiece tokenizer's settings (the inference project's <c>TokenizerSettings</c>).</summary>
    public required string TokenizerJson { get; init; }

    /// <summary>Encoder parameters, the head excluded.</summary>
    public long Parameters { get; init; }

    public required string License { get; init; }

    public required string Source { get; init; }

    /// <summary><c>model.safetensors</c> as uploaded (Hugging Face names and layouts).</summary>
    public required string WeightsArtifactKey { get; init; }

    public required string WeightsSha256 { get; init; }

    public long WeightsSizeBytes { get; init; }

    /// <summary><c>vocab.txt</c> as uploaded.</summary>
    public required string VocabularyArtifactKey { get; init; }

    public required string VocabularySha256 { get; init; }

    public long VocabularySizeBytes { get; init; }

    /// <summary>SHA-256 of the uploaded archive, to tell two uploads of the same folder apart from different ones.</summary>
    public required string ArchiveSha256 { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
