using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Inference.Tests.Tokenization;

/// <summary>
/// Pins the ids the tokenizer gives for a fixed definition. Every trained model depends on these ids staying put: a
/// change here means models trained before it would receive different input in serving. If a change is intended, bump
/// <see cref="TokenizerDefinition.CurrentFormat"/> and regenerate with TOKENIZER_GOLDEN_UPDATE=1.
/// </summary>
public sealed class TokenizerGoldenTests
{
    private static readonly string[] Cases =
    [
        "How do I reset my password?",
        "how do i rest my pasword",
        "Book a flight to Paris, then cancel it!!",
        "我想订一张去北京的机票",
        "I ❤️ this 👍🏽 app",
        "ما هو رصيد حسابي؟",
        "ＦＵＬＬ-width ＡＳＣＩＩ and ﬁ ligature",
        "",
    ];

    [Fact]
    public void Fixed_inputs_give_the_recorded_ids()
    {
        string path = GoldenPath();
        if (Environment.GetEnvironmentVariable("TOKENIZER_GOLDEN_UPDATE") == "1")
        {
            File.WriteAllText(path, Record(Definition()).ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        }

        var golden = JsonNode.Parse(File.ReadAllText(path))!;
        var definition = TokenizerDefinition.FromJson(golden["definition"]!.ToJsonString());
        var tokenizer = new TextTokenizer(definition);
        foreach (var entry in golden["cases"]!.AsArray())
        {
            string text = entry!["text"]!.GetValue<string>();
            Assert.Equal(entry["words"]!.AsArray().Select(w => w!.GetValue<string>()), tokenizer.Segment(text));
            Assert.Equal(entry["ids"]!.AsArray().Select(i => i!.GetValue<long>()), tokenizer.Encode(text));
        }
    }

    private static TokenizerDefinition Definition() => new(
        new TokenizerSettings
        {
            MaxSequenceLength = 48,
            WordBigramBuckets = 50,
            CharNGrams = CharNGramMode.AllWords,
            CharNGramMin = 3,
            CharNGramMax = 4,
            CharNGramBuckets = 200,
        },
        ["how", "do", "i", "reset", "my", "password", "?", "book", "a", "flight", "to", "我", "想", "票", "❤", "👍", "رصيد", "width"]);

    private static JsonObject Record(TokenizerDefinition definition)
    {
        var tokenizer = new TextTokenizer(definition);
        return new JsonObject
        {
            ["definition"] = JsonNode.Parse(definition.ToJson()),
            ["cases"] = new JsonArray(Cases.Select(text => (JsonNode)new JsonObject
            {
                ["text"] = text,
                ["words"] = new JsonArray(tokenizer.Segment(text).Select(w => (JsonNode)w).ToArray()),
                ["ids"] = new JsonArray(tokenizer.Encode(text).Select(id => (JsonNode)id).ToArray()),
            }).ToArray()),
        };
    }

    // Beside this source file: the tests run from the repository they were built in.
    private static string GoldenPath([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "tokenizer-golden.json");
}
