using System.Text.Json.Serialization;

namespace TextClassification.Training.Models;

/// <summary>
/// The shape of a network: enough to rebuild it before loading its weights. Serialised inside checkpoints with an
/// <c>architecture</c> discriminator naming the <see cref="ArchitectureRegistry"/> entry.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "architecture")]
[JsonDerivedType(typeof(NGramBagConfig), ArchitectureRegistry.NGramBag)]
[JsonDerivedType(typeof(TransformerConfig), ArchitectureRegistry.Transformer)]
[JsonDerivedType(typeof(BertConfig), ArchitectureRegistry.Bert)]
public abstract record ModelConfig
{
    /// <summary>Rows of the token embedding: the tokenizer's <c>VocabularySize</c>.</summary>
    public int VocabularySize { get; init; }

    /// <summary>Outputs of the classifier head: the number of labels.</summary>
    public int LabelCount { get; init; }

    /// <summary>Dropout probability while training; inference ignores it.</summary>
    public double Dropout { get; init; }

    /// <summary>Field-named problems with the shape; empty when a module can be built from it.</summary>
    public virtual IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (VocabularySize < 3)
        {
            errors.Add($"{nameof(VocabularySize)} must be at least 3");
        }

        if (LabelCount < 1)
        {
            errors.Add($"{nameof(LabelCount)} must be at least 1");
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            errors.Add($"{nameof(Dropout)} must be at least 0 and less than 1");
        }

        return errors;
    }
}
