using System.Text;

namespace TextClassification.Training.Data.Augmentation;

/// <summary>
/// Makes the label-preserving variants <see cref="AugmentationSettings"/> asks for. A variant applies every technique
/// that is on, in a fixed order: word deletion, word swap, word insertion (of words of the original text), typos.
/// </summary>
/// <remarks>
/// Repeatability: every draw comes from the <see cref="Random"/> passed in, and an epoch's variants come from a
/// generator seeded with a fixed function of the run's seed and the epoch (<see cref="EpochSeed"/>), distinct from
/// the shuffle's and the dropout's. So the same seed and data give the same variants, a run without augmentation
/// draws exactly what it drew before, and nothing crosses an epoch boundary (a checkpoint resumes exactly).
/// </remarks>
public static class TextAugmentation
{
    /// <summary>Typos go only into words at least this long: a typo in "a" or "to" mostly makes another real word, or none.</summary>
    public const int MinTypoWordLength = 3;

    /// <summary>The letters around each letter on a QWERTY keyboard, for typos that hit a neighbouring key.</summary>
    private static readonly Dictionary<char, string> KeyboardNeighbours = new()
    {
        ['q'] = "wa", ['w'] = "qeas", ['e'] = "wrsd", ['r'] = "etdf", ['t'] = "ryfg", ['y'] = "tugh", ['u'] = "yihj",
        ['i'] = "uojk", ['o'] = "ipkl", ['p'] = "ol", ['a'] = "qwsz", ['s'] = "weadzx", ['d'] = "erfsxc",
        ['f'] = "rtdgcv", ['g'] = "tyfhvb", ['h'] = "yugjbn", ['j'] = "uihknm", ['k'] = "iojlm", ['l'] = "opk",
        ['z'] = "asx", ['x'] = "zsdc", ['c'] = "xdfv", ['v'] = "cfgb", ['b'] = "vghn", ['n'] = "bhjm", ['m'] = "njk",
    };

    /// <summary>Seeds the variants of one epoch (0-based): a fixed function of the run's seed and the epoch.</summary>
    public static int EpochSeed(int seed, int epoch) =>
        unchecked((int)(((uint)seed * 0x85EBCA6Bu) ^ ((uint)(epoch + 1) * 0xC2B2AE35u) ^ 0x27D4EB2Fu));

    /// <summary>
    /// The variants of one epoch: <see cref="AugmentationSettings.Copies"/> per text, copy <c>c</c> of text <c>r</c>
    /// at index <c>c * texts.Count + r</c>, so each variant's label is its original's.
    /// </summary>
    public static string[] ForEpoch(IReadOnlyList<string> texts, AugmentationSettings settings, int seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(settings);
        var random = new Random(EpochSeed(seed, epoch));
        var variants = new string[texts.Count * settings.Copies];
        for (int copy = 0; copy < settings.Copies; copy++)
        {
            for (int row = 0; row < texts.Count; row++)
            {
                variants[copy * texts.Count + row] = Variant(texts[row], settings, random);
            }
        }

        return variants;
    }

    /// <summary>One variant of <paramref name="text"/>; the text itself when no draw changed anything.</summary>
    public static string Variant(string text, AugmentationSettings settings, Random random)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(random);
        string[] original = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (original.Length == 0 || !settings.Enabled)
        {
            return text;
        }

        var words = new List<string>(original);
        bool changed = false;
        if (settings.WordDeletion > 0)
        {
            changed |= DeleteWords(words, settings.WordDeletion, random);
        }

        if (settings.WordSwap > 0)
        {
            changed |= SwapWords(words, settings.WordSwap, random);
        }

        if (settings.WordInsertion > 0)
        {
            changed |= InsertWords(words, original, settings.WordInsertion, random);
        }

        if (settings.Typos > 0)
        {
            changed |= AddTypos(words, settings.Typos, random);
        }

        return changed ? string.Join(' ', words) : text;
    }

    /// <summary>Drops each word with probability <paramref name="rate"/>; if every word went, one of them, at random, stays.</summary>
    private static bool DeleteWords(List<string> words, double rate, Random random)
    {
        var kept = words.Where(_ => random.NextDouble() >= rate).ToList();
        if (kept.Count == words.Count)
        {
            return false;
        }

        if (kept.Count == 0)
        {
            kept.Add(words[random.Next(words.Count)]);
        }

        words.Clear();
        words.AddRange(kept);
        return true;
    }

    private static bool SwapWords(List<string> words, double rate, Random random)
    {
        if (words.Count < 2)
        {
            return false;
        }

        bool changed = false;
        for (int i = 0; i < words.Count; i++)
        {
            if (random.NextDouble() < rate)
            {
                // Another position, uniformly: draw among the other Count - 1 and step over i.
                int j = random.Next(words.Count - 1);
                j += j >= i ? 1 : 0;
                changed |= words[i] != words[j];
                (words[i], words[j]) = (words[j], words[i]);
            }
        }

        return changed;
    }

    /// <summary>
    /// For each word of the original text, with probability <paramref name="rate"/>, inserts a word of that text drawn
    /// at random at a random place (the cheap, label-safe cousin of inserting synonyms: no word the text lacked).
    /// </summary>
    private static bool InsertWords(List<string> words, string[] original, double rate, Random random)
    {
        bool changed = false;
        for (int i = 0; i < original.Length; i++)
        {
            if (random.NextDouble() < rate)
            {
                words.Insert(random.Next(words.Count + 1), original[random.Next(original.Length)]);
                changed = true;
            }
        }

        return changed;
    }

    private static bool AddTypos(List<string> words, double rate, Random random)
    {
        bool changed = false;
        for (int i = 0; i < words.Count; i++)
        {
            // Words with surrogate pairs are left alone: an edit could split a pair.
            if (words[i].Length >= MinTypoWordLength && !words[i].Any(char.IsSurrogate) && random.NextDouble() < rate)
            {
                string typo = Typo(words[i], random);
                changed |= !string.Equals(typo, words[i], StringComparison.Ordinal);
                words[i] = typo;
            }
        }

        return changed;
    }

    /// <summary>One typo in <paramref name="word"/> (at least <see cref="MinTypoWordLength"/> characters), of a kind drawn uniformly.</summary>
    private static string Typo(string word, Random random)
    {
        var chars = new StringBuilder(word);
        switch (random.Next(4))
        {
            case 0:
                // A neighbouring key, in the letter's case; a word without a letter on the keyboard is left alone.
                var letters = Enumerable.Range(0, word.Length).Where(k => KeyboardNeighbours.ContainsKey(char.ToLowerInvariant(word[k]))).ToArray();
                if (letters.Length > 0)
                {
                    int at = letters[random.Next(letters.Length)];
                    string neighbours = KeyboardNeighbours[char.ToLowerInvariant(word[at])];
                    char replacement = neighbours[random.Next(neighbours.Length)];
                    chars[at] = char.IsUpper(word[at]) ? char.ToUpperInvariant(replacement) : replacement;
                }

                break;
            case 1:
                int left = random.Next(word.Length - 1);
                (chars[left], chars[left + 1]) = (chars[left + 1], chars[left]);
                break;
            case 2:
                chars.Remove(random.Next(word.Length), 1);
                break;
            default:
                int doubled = random.Next(word.Length);
                chars.Insert(doubled, word[doubled]);
                break;
        }

        return chars.ToString();
    }
}
