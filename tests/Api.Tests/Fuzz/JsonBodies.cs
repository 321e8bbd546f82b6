using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>How a request body is malformed: not JSON at all, broken UTF-8, any JSON, too deep, too big, or a valid body with fields mutated.</summary>
internal enum BodyFault
{
    NotJson,
    InvalidUtf8,
    AnyJson,
    DeepNesting,
    Huge,
    Mutated,
    MutatedTwice,
    WrongContentType,
}

/// <summary>
/// One fuzzed JSON request body, rebuilt from its fault, seed and size; <see cref="ToContent"/> mutates the valid body
/// that <paramref name="Valid"/> makes, so each endpoint's fuzzing starts from what that endpoint accepts.
/// </summary>
internal sealed record JsonBody(BodyFault Fault, int Seed, int Size, Func<Random, JsonObject> Valid, string?[] ContentTypes, bool LoneSurrogates, bool NullElements)
{
    /// <summary>Content types other than JSON's, for <see cref="BodyFault.WrongContentType"/>.</summary>
    public static readonly string?[] OtherContentTypes =
        ["text/plain", "application/xml", "application/json; charset=utf-16", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", null];

    // Serialised strings holding this marker get a lone UTF-16 surrogate escape in its place, which no JsonNode can hold.
    private const string LoneSurrogate = "@@lone-surrogate@@";

    private static readonly string[] NotJsonBodies =
    [
        "", " ", "hello", "<xml/>", "{", "[1,2", "'single'", "{\"a\":}", "{\"inputs\": [1,],}", "NaN", "{\"a\" 1}",
        "\"unterminated", "{\"inputs\": [\"a\"]} trailing", "[]]", "{}{}", "\u0000", "{\"\\x\": 1}", "{\"a\": 01}",
    ];

    private static readonly string[] Strings =
    [
        "", " ", "what is my balance", "send money", "hello", "ÿ", "日本語のテキスト", "🙂🙃", "\t\n\r", "\u0000", "\u202e", "a\"b\\c",
        LoneSurrogate, "text", "BYTES", "label", "1", "-1", "null", "production", "fuzz-intents", "fuzz-intents:1", "ds_01kaq3m5t8y9c2b7n4x6r0w1zd",
    ];

    private static readonly byte[][] InvalidUtf8 = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0x80], [0xF0, 0x9F]];

    private static readonly string[] Numbers = ["0", "-1", "1", "2", "3.5", "1e400", "-1e400", "9223372036854775808", "2147483648", "-0", "1E-7", "16", "17", "256"];

    /// <summary>
    /// Bodies for the endpoint whose valid body <paramref name="valid"/> makes. Without <paramref name="loneSurrogates"/>
    /// no text holds a lone surrogate escape and no body holds invalid UTF-8.
    /// </summary>
    public static Gen<JsonBody> Generator(Func<Random, JsonObject> valid, string?[]? contentTypes = null, bool loneSurrogates = true, bool nullElements = true) =>
        from fault in Gen.Frequency(
            (2, Gen.Constant(BodyFault.NotJson)), (2, Gen.Constant(BodyFault.InvalidUtf8)), (3, Gen.Constant(BodyFault.AnyJson)),
            (1, Gen.Constant(BodyFault.DeepNesting)), (1, Gen.Constant(BodyFault.Huge)), (6, Gen.Constant(BodyFault.Mutated)),
            (3, Gen.Constant(BodyFault.MutatedTwice)), (1, Gen.Constant(BodyFault.WrongContentType)))
            .Where(fault => loneSurrogates || fault != BodyFault.InvalidUtf8)
        from seed in Gen.Choose(0, int.MaxValue)
        from size in Gen.Choose(0, 100)
        select new JsonBody(fault, seed, size, valid, contentTypes ?? OtherContentTypes, loneSurrogates, nullElements);

    public override string ToString() => $"{Fault} (seed {Seed}, size {Size})";

    public HttpContent ToContent()
    {
        var random = new Random(Seed);
        byte[] body;
        string? contentType = "application/json";
        switch (Fault)
        {
            case BodyFault.NotJson:
                body = random.Next(3) == 0 ? RandomBytes(random, random.Next(Size * 10 + 1)) : Encoding.UTF8.GetBytes(NotJsonBodies[random.Next(NotJsonBodies.Length)]);
                break;
            case BodyFault.InvalidUtf8:
                byte[] valid = Serialize(Valid(random));
                var bytes = new List<byte>(valid);
                // Inside a string where there is one (after an opening quote), else anywhere.
                int quote = Array.IndexOf(valid, (byte)'"', random.Next(valid.Length));
                bytes.InsertRange(quote >= 0 ? quote + 1 : random.Next(bytes.Count + 1), InvalidUtf8[random.Next(InvalidUtf8.Length)]);
                body = [.. bytes];
                break;
            case BodyFault.AnyJson:
                body = Encoding.UTF8.GetBytes(RandomJson(random, depth: random.Next(5)));
                break;
            case BodyFault.DeepNesting:
                int depth = 60 + random.Next(Size * 1_000 + 10);
                string open = random.Next(2) == 0 ? "[" : "{\"inputs\":";
                string close = open == "[" ? "]" : "}";
                body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth)));
                break;
            case BodyFault.Huge:
                body = Encoding.UTF8.GetBytes(Huge(random));
                break;
            case BodyFault.WrongContentType:
                body = Serialize(Valid(random));
                contentType = ContentTypes[random.Next(ContentTypes.Length)];
                break;
            default:
                var node = Valid(random);
                for (int i = Fault == BodyFault.MutatedTwice ? 2 : 1; i > 0; i--)
                {
                    Mutate(random, node, NullElements);
                }

                body = Serialize(node);
                break;
        }

        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }

    /// <summary>A random string from the hazards, or random characters, or one over the service's text limit.</summary>
    public static string RandomText(Random random) => random.Next(10) switch
    {
        0 => new string((char)random.Next(0x20, 0xD7FF), random.Next(1, 1_200)),
        1 => new string(Enumerable.Range(0, random.Next(0, 40)).Select(_ => (char)random.Next(0, 0x3000)).ToArray()),
        _ => Strings[random.Next(Strings.Length)],
    };

    private byte[] Serialize(JsonNode node) =>
        Encoding.UTF8.GetBytes(node.ToJsonString().Replace(LoneSurrogate, LoneSurrogates ? "\\ud800" : "?", StringComparison.Ordinal));

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Replaces, removes or adds one field somewhere in <paramref name="node"/>.</summary>
    private static void Mutate(Random random, JsonNode node, bool nullElements)
    {
        // Walk down a random path, then change what is there.
        var current = node;
        while (random.Next(3) != 0)
        {
            var children = current switch
            {
                JsonObject o => o.Select(p => p.Value).Where(v => v is JsonObject or JsonArray).ToList(),
                JsonArray a => a.Where(v => v is JsonObject or JsonArray).ToList(),
                _ => [],
            };
            if (children.Count == 0)
            {
                break;
            }

            current = children[random.Next(children.Count)]!;
        }

        switch (current)
        {
            case JsonObject o when o.Count > 0 && random.Next(4) != 0:
                string key = o.ElementAt(random.Next(o.Count)).Key;
                if (random.Next(4) == 0)
                {
                    o.Remove(key);
                }
                else
                {
                    o[key] = RandomNode(random, random.Next(3), nullElements);
                }

                break;
            case JsonObject o:
                o[Strings[random.Next(Strings.Length)] + random.Next(3)] = RandomNode(random, 1, nullElements);
                break;
            case JsonArray a when a.Count > 0 && random.Next(3) != 0:
                a[random.Next(a.Count)] = Element(RandomNode(random, random.Next(3), nullElements), nullElements);
                break;
            case JsonArray a:
                int copies = random.Next(1, 300);
                for (int i = 0; i < copies; i++)
                {
                    a.Add(Element(RandomNode(random, 0), nullElements));
                }

                break;
        }
    }

    private static JsonNode? Element(JsonNode? value, bool nullElements) => value ?? (nullElements ? null : JsonValue.Create(0));

    private static JsonNode? RandomNode(Random random, int depth, bool nullElements = true) => random.Next(depth > 0 ? 8 : 6) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonNode.Parse(Numbers[random.Next(Numbers.Length)] is var n && n.Contains("e400", StringComparison.Ordinal) ? "0" : n),
        3 => JsonValue.Create(random.NextDouble() * Math.Pow(10, random.Next(-5, 12))),
        4 or 5 => JsonValue.Create(RandomText(random)),
        6 => new JsonArray(Enumerable.Range(0, random.Next(5)).Select(_ => Element(RandomNode(random, depth - 1, nullElements), nullElements)).ToArray()),
        _ => new JsonObject(Enumerable.Range(0, random.Next(5)).Select(i => KeyValuePair.Create(Strings[random.Next(Strings.Length)] + i, RandomNode(random, depth - 1, nullElements)))),
    };

    /// <summary>Any JSON text, written by hand so that it may hold what a serializer would never write (1e400, lone surrogates, duplicate keys).</summary>
    private static string RandomJson(Random random, int depth) => random.Next(depth > 0 ? 8 : 6) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "false",
        2 => Numbers[random.Next(Numbers.Length)],
        3 => "\"\\ud800\\u0000\\\\\"",
        4 or 5 => JsonValue.Create(RandomText(random)).ToJsonString().Replace(LoneSurrogate, "\\udfff", StringComparison.Ordinal),
        6 => "[" + string.Join(",", Enumerable.Range(0, random.Next(5)).Select(_ => RandomJson(random, depth - 1))) + "]",
        _ => "{" + string.Join(",", Enumerable.Range(0, random.Next(5)).Select(i =>
            $"\"{Strings[random.Next(Strings.Length)].Replace("\"", string.Empty, StringComparison.Ordinal).Replace("\\", string.Empty, StringComparison.Ordinal)}\":{RandomJson(random, depth - 1)}")) + "}",
    };

    private static string Huge(Random random)
    {
        int n = 1_000 + random.Next(200_000);
        return random.Next(3) switch
        {
            0 => "{\"inputs\": [" + string.Join(",", Enumerable.Repeat("\"x\"", n)) + "]}",
            1 => "{\"inputs\": [\"" + new string('y', n * 10) + "\"]}",
            _ => "{" + string.Join(",", Enumerable.Range(0, n / 10).Select(i => $"\"k{i.ToString(CultureInfo.InvariantCulture)}\": {i}")) + "}",
        };
    }
}
