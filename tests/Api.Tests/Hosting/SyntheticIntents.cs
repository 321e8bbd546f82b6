using System.Text;

namespace TextClassification.Api.Tests.Hosting;

/// <summary>
/// Small made-up intent datasets that a model learns in a few epochs: each label has its own key words, mixed with
/// filler words shared by all labels, so the model must find the words that matter.
/// </summary>
public static class SyntheticIntents
{
    private static readonly string[] Filler = ["please", "could", "you", "help", "me", "with", "my", "the", "now", "today", "i", "want", "to", "a", "need"];

    private static readonly Dictionary<string, string[]> KeyWords = new()
    {
        ["balance"] = ["balance", "money", "account", "funds"],
        ["transfer"] = ["transfer", "send", "wire", "move"],
        ["card_lost"] = ["lost", "card", "stolen", "missing"],
        ["greeting"] = ["hello", "hi", "hey", "morning"],
        ["weather"] = ["weather", "rain", "sunny", "forecast"],
        ["oos"] = ["pizza", "movie", "song", "football"],
        ["refund"] = ["refund", "return", "reimburse", "back"],
    };

    /// <summary>A CSV of <paramref name="perLabel"/> rows for each of <paramref name="labels"/>.</summary>
    public static string Csv(IEnumerable<string> labels, int perLabel, int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder("text,label\n");
        foreach (string label in labels)
        {
            for (int i = 0; i < perLabel; i++)
            {
                var words = new List<string>();
                for (int w = 0; w < 4; w++)
                {
                    words.Add(Filler[random.Next(Filler.Length)]);
                }

                words.Insert(random.Next(words.Count + 1), KeyWords[label][random.Next(4)]);
                words.Insert(random.Next(words.Count + 1), KeyWords[label][random.Next(4)]);
                csv.Append(string.Join(' ', words)).Append(' ').Append(i).Append(',').Append(label).Append('\n');
            }
        }

        return csv.ToString();
    }
}
