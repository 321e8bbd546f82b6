using System.Text.Json;
using System.Text.Json.Serialization;
using TextClassification.Training.Loop;

namespace TextClassification.Training.Data.Augmentation;

/// <summary>
/// The <c>augmentation</c> hyperparameter: label-preserving variants of every training text, made afresh each epoch
/// and trained on beside the originals (never on validation rows). Each rate is a per-word probability; a technique
/// at 0 is off, and with every technique off nothing is added. JSON shape:
/// <c>{"copies": 1, "word_deletion": 0.1, "word_swap": 0.1, "word_insertion": 0.1, "typos": 0.05}</c>.
/// </summary>
public sealed record AugmentationSettings
{
    public const int MaxCopies = 16;

    /// <summary>Variants of each training text per epoch, trained on beside the original (an epoch grows by this factor plus one).</summary>
    [JsonPropertyName("copies")]
    public int Copies { get; init; } = 1;

    /// <summary>Each word is dropped with this probability; a variant always keeps at least one word.</summary>
    [JsonPropertyName("word_deletion")]
    public double WordDeletion { get; init; }

    /// <summary>Each word trades places with another word of the text, chosen at random, with this probability.</summary>
    [JsonPropertyName("word_swap")]
    public double WordSwap { get; init; }

    /// <summary>For each word, with this probability, a word of the same text is inserted at a random place.</summary>
    [JsonPropertyName("word_insertion")]
    public double WordInsertion { get; init; }

    /// <summary>
    /// Each word of three characters or more gets one typo with this probability: a letter replaced by a neighbour
    /// on a QWERTY keyboard, two neighbouring characters transposed, a character dropped or a character doubled.
    /// </summary>
    [JsonPropertyName("typos")]
    public double Typos { get; init; }

    /// <summary>Members the request had that are no technique; kept only so that <see cref="Validate"/> can name them.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? UnknownMembers { get; init; }

    /// <summary>Whether any technique is on, so that training makes variants at all.</summary>
    [JsonIgnore]
    public bool Enabled => WordDeletion > 0 || WordSwap > 0 || WordInsertion > 0 || Typos > 0;

    /// <summary>The names techniques and settings have on the wire.</summary>
    public static IReadOnlyList<string> FieldNames { get; } = ["copies", "word_deletion", "word_swap", "word_insertion", "typos"];

    /// <summary>Problems with these settings, each naming its field under <paramref name="prefix"/>.</summary>
    public IEnumerable<HyperparameterError> Validate(string prefix)
    {
        foreach (string unknown in (UnknownMembers?.Keys ?? Enumerable.Empty<string>()).Order(StringComparer.Ordinal))
        {
            yield return new HyperparameterError($"{prefix}.{unknown}", $"is not an augmentation setting; use {string.Join(", ", FieldNames)}");
        }

        if (Copies is < 1 or > MaxCopies)
        {
            yield return new HyperparameterError($"{prefix}.copies", $"must be between 1 and {MaxCopies}");
        }

        foreach (var (field, rate) in new[] { ("word_deletion", WordDeletion), ("word_swap", WordSwap), ("word_insertion", WordInsertion), ("typos", Typos) })
        {
            // Written so that NaN fails.
            if (!(rate >= 0 && rate < 1))
            {
                yield return new HyperparameterError($"{prefix}.{field}", "must be at least 0 and less than 1");
            }
        }
    }
}
