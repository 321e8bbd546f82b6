using System.Text.RegularExpressions;

namespace TextClassification.Training.BaseModels;

/// <summary>
/// Hugging Face's BERT tensor names (<c>modeling_bert.py</c>) and this project's (<see cref="Models.BertClassifier"/>),
/// in one table. Hugging Face stores every linear weight as <c>[out, in]</c>, as TorchSharp does.
/// </summary>
public static partial class BertCheckpointNames
{
    // Hugging Face name pattern → ours; {0} is the layer index. Checked in order; the first match wins.
    private static readonly (Regex HuggingFace, string Ours)[] Table =
    [
        (Name(@"embeddings\.word_embeddings\.weight"), "embeddings.word.weight"),
        (Name(@"embeddings\.position_embeddings\.weight"), "embeddings.position.weight"),
        (Name(@"embeddings\.token_type_embeddings\.weight"), "embeddings.token_type.weight"),
        (Name(@"embeddings\.LayerNorm\.(?:weight|gamma)"), "embeddings.norm.weight"),
        (Name(@"embeddings\.LayerNorm\.(?:bias|beta)"), "embeddings.norm.bias"),
        (Name(@"encoder\.layer\.(\d+)\.attention\.self\.query\.(weight|bias)"), "layers.{0}.attention.query.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.attention\.self\.key\.(weight|bias)"), "layers.{0}.attention.key.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.attention\.self\.value\.(weight|bias)"), "layers.{0}.attention.value.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)"), "layers.{0}.attention.output.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|bias)"), "layers.{0}.attention_norm.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)"), "layers.{0}.feed_forward_in.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)"), "layers.{0}.feed_forward_out.{1}"),
        (Name(@"encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|bias)"), "layers.{0}.feed_forward_norm.{1}"),
    ];

    // Tensors a BERT checkpoint may carry that fine-tuning does not use: the NSP pooler, pre-training heads, and the
    // position-id buffer.
    private static readonly Regex Unused = new(@"^(?:bert\.)?(?:pooler\.|cls\.|embeddings\.position_ids$)", RegexOptions.CultureInvariant);

    /// <summary>This project's name for a Hugging Face tensor name (with or without the <c>bert.</c> prefix).</summary>
    /// <returns><see langword="false"/> for a name that is no part of the encoder.</returns>
    public static bool TryMap(string huggingFaceName, out string ours)
    {
        ArgumentNullException.ThrowIfNull(huggingFaceName);
        foreach (var (pattern, target) in Table)
        {
            var match = pattern.Match(huggingFaceName);
            if (match.Success)
            {
                ours = match.Groups.Count switch
                {
                    1 => target,
                    _ => string.Format(System.Globalization.CultureInfo.InvariantCulture, target, match.Groups[1].Value, match.Groups[2].Value),
                };
                return true;
            }
        }

        ours = string.Empty;
        return false;
    }

    /// <summary>Whether a tensor that <see cref="TryMap"/> does not know is one fine-tuning may ignore.</summary>
    public static bool IsUnused(string huggingFaceName) => Unused.IsMatch(huggingFaceName);

    /// <summary>Hugging Face's name for one of ours (the inverse of <see cref="TryMap"/>), for messages and writers.</summary>
    public static string ToHuggingFace(string ours)
    {
        ArgumentNullException.ThrowIfNull(ours);
        var layer = LayerName().Match(ours);
        if (!layer.Success)
        {
            return ours switch
            {
                "embeddings.word.weight" => "embeddings.word_embeddings.weight",
                "embeddings.position.weight" => "embeddings.position_embeddings.weight",
                "embeddings.token_type.weight" => "embeddings.token_type_embeddings.weight",
                "embeddings.norm.weight" => "embeddings.LayerNorm.weight",
                "embeddings.norm.bias" => "embeddings.LayerNorm.bias",
                _ => ours,
            };
        }

        string index = layer.Groups[1].Value;
        string part = layer.Groups[2].Value switch
        {
            "attention.query" => "attention.self.query",
            "attention.key" => "attention.self.key",
            "attention.value" => "attention.self.value",
            "attention.output" => "attention.output.dense",
            "attention_norm" => "attention.output.LayerNorm",
            "feed_forward_in" => "intermediate.dense",
            "feed_forward_out" => "output.dense",
            "feed_forward_norm" => "output.LayerNorm",
            var other => other,
        };
        return $"encoder.layer.{index}.{part}.{layer.Groups[3].Value}";
    }

    /// <summary>"'ours' (Hugging Face: 'theirs')", for error messages that a user with either name can act on.</summary>
    public static string Describe(string ours) => $"'{ToHuggingFace(ours)}' ({ours})";

    private static Regex Name(string pattern) => new($"^(?:bert\\.)?{pattern}$", RegexOptions.CultureInvariant);

    [GeneratedRegex(@"^layers\.(\d+)\.(attention\.query|attention\.key|attention\.value|attention\.output|attention_norm|feed_forward_in|feed_forward_out|feed_forward_norm)\.(weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex LayerName();
}
