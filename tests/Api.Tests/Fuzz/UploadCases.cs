using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>The ways an upload to <c>POST /v1/datasets</c> can be malformed, in its file or in its multipart envelope.</summary>
internal enum UploadFault
{
    RandomBytes,
    BrokenCsvQuoting,
    HugeLine,
    InvalidUtf8,
    NulBytes,
    MixedDelimiters,
    DeepJson,
    HugeJson,
    WrongColumns,
    EmptyFile,
    OneLabel,
    NotMultipart,
    NoFilePart,
    TwoFileParts,
    BrokenMultipart,
    BadFormFields,
}

/// <summary>
/// One malformed upload: its fault, and the seed and size its bytes are made from, so that the value FsCheck prints
/// on a failure is enough to rebuild the exact request.
/// </summary>
internal sealed record MalformedUpload(UploadFault Fault, int Seed, int Size)
{
    private static readonly string[] Extensions = [".csv", ".tsv", ".jsonl", ".txt", ".json", "", ".CSV"];
    private static readonly string[] Words = ["card", "lost", "money", "send", "hello", "weather", "über", "日本", "🙂", "a,b", "x\"y", "tab\tbed", "semi;colon"];

    public static Gen<MalformedUpload> Generator { get; } =
        from fault in Gen.Elements(Enum.GetValues<UploadFault>())
        from seed in Gen.Choose(0, int.MaxValue)
        from size in Gen.Choose(0, 100)
        select new MalformedUpload(fault, seed, size);

    public override string ToString() => $"{Fault} (seed {Seed}, size {Size})";

    public HttpRequestMessage ToRequest()
    {
        var random = new Random(Seed);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/datasets");
        switch (Fault)
        {
            case UploadFault.RandomBytes:
                request.Content = Form(RandomBytes(random, random.Next(Size * 64 + 1)), Pick(random, Extensions));
                break;
            case UploadFault.BrokenCsvQuoting:
                request.Content = Form(BreakQuoting(random, Csv(random, Size + 2)), ".csv");
                break;
            case UploadFault.HugeLine:
                request.Content = Form(HugeLine(random), Pick(random, Extensions));
                break;
            case UploadFault.InvalidUtf8:
                request.Content = Form(Insert(random, Encoding.UTF8.GetBytes(Csv(random, Size + 2)), InvalidUtf8Sequences, random.Next(1, 6)), Pick(random, Extensions));
                break;
            case UploadFault.NulBytes:
                request.Content = Form(Insert(random, Encoding.UTF8.GetBytes(random.Next(2) == 0 ? Csv(random, Size + 2) : JsonLines(random, Size + 2)), [[0], [0, 0, 0]], random.Next(1, 6)), Pick(random, Extensions));
                break;
            case UploadFault.MixedDelimiters:
                request.Content = Form(Encoding.UTF8.GetBytes(MixedDelimiters(random, Size + 2)), Pick(random, [".csv", ".tsv"]));
                break;
            case UploadFault.DeepJson:
                request.Content = Form(Encoding.UTF8.GetBytes(DeepJson(random, 1 + random.Next(Size * 100 + 1))), Pick(random, [".jsonl", ".json", ""]));
                break;
            case UploadFault.HugeJson:
                request.Content = Form(Encoding.UTF8.GetBytes(HugeJson(random, 1 + Size * 2_000)), ".jsonl");
                break;
            case UploadFault.WrongColumns:
                request.Content = WrongColumns(random);
                break;
            case UploadFault.EmptyFile:
                request.Content = Form(Pick(random, [[], [0xEF, 0xBB, 0xBF], "\n"u8.ToArray(), "text,label\n"u8.ToArray(), "   \r\n\t "u8.ToArray(), "{}\n"u8.ToArray(), "\"\""u8.ToArray()]), Pick(random, Extensions));
                break;
            case UploadFault.OneLabel:
                request.Content = Form(Encoding.UTF8.GetBytes(Csv(random, Size + 1, labels: 1)), ".csv");
                break;
            case UploadFault.NotMultipart:
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Csv(random, Size + 2)));
                string? type = Pick(random, ["text/csv", "application/json", "application/x-www-form-urlencoded", "multipart/mixed; boundary=x", null]);
                if (type is not null)
                {
                    request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
                }

                break;
            case UploadFault.NoFilePart:
                var noFile = new MultipartFormDataContent { { new StringContent("no file here"), "name" } };
                if (random.Next(2) == 0)
                {
                    noFile.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(Csv(random, Size + 2))), Pick(random, ["files", "File", "data", "x-file"]), "data.csv");
                }

                request.Content = noFile;
                break;
            case UploadFault.TwoFileParts:
                var two = Form(Encoding.UTF8.GetBytes(Csv(random, Size + 2)), ".csv");
                two.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(Csv(random, Size + 2))), "file", "second.csv");
                request.Content = two;
                break;
            case UploadFault.BrokenMultipart:
                request.Content = BrokenMultipart(random, Encoding.UTF8.GetBytes(Csv(random, Size + 2)));
                break;
            case UploadFault.BadFormFields:
                request.Content = Form(Encoding.UTF8.GetBytes(Csv(random, Size + 2)), ".csv", Pick(random, BadFields(random)));
                break;
        }

        return request;
    }

    private static readonly byte[][] InvalidUtf8Sequences =
    [
        [0xFF], [0xFE, 0xFF], [0xC3, 0x28], [0x80], [0xBF, 0xBF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x9F], [0xE2, 0x82],
    ];

    private static T Pick<T>(Random random, IReadOnlyList<T> choices) => choices[random.Next(choices.Count)];

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Text(Random random) =>
        string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Pick(random, Words)));

    private static string Quote(string field) => "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Csv(Random random, int rows, int labels = 3)
    {
        var csv = new StringBuilder("text,label\n");
        for (int i = 0; i < rows; i++)
        {
            csv.Append(Quote(Text(random) + " " + i)).Append(',').Append("label").Append(random.Next(labels)).Append('\n');
        }

        return csv.ToString();
    }

    private static string JsonLines(Random random, int rows) =>
        string.Concat(Enumerable.Range(0, rows).Select(i => JsonSerializer.Serialize(new { text = Text(random) + " " + i, label = "l" + random.Next(3) }) + "\n"));

    private static byte[] Insert(Random random, byte[] into, IReadOnlyList<byte[]> pieces, int times)
    {
        var bytes = new List<byte>(into);
        for (int i = 0; i < times; i++)
        {
            bytes.InsertRange(random.Next(bytes.Count + 1), Pick(random, pieces));
        }

        return [.. bytes];
    }

    private static byte[] BreakQuoting(Random random, string csv)
    {
        var text = new StringBuilder(csv);
        int breaks = random.Next(1, 5);
        for (int i = 0; i < breaks; i++)
        {
            string piece = Pick(random, ["\"", "\"\"\"", "\"unclosed,", "a\"b", "\r", "\"\r\n\"", ",\"", "\"\n"]);
            text.Insert(random.Next(text.Length + 1), piece);
        }

        if (random.Next(3) == 0)
        {
            text.Replace("\n", "\r");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] HugeLine(Random random)
    {
        // Longer than any text limit and than a parser's buffer: up to 2 MB in one line, with or without its newline.
        int length = random.Next(10_001, 2_000_000);
        var text = new StringBuilder("text,label\n");
        text.Append(Pick(random, ["", "\"", "{\"text\": \""]));
        text.Append(Pick(random, ["x", "é", "ab,", "\t"])[0], length);
        text.Append(Pick(random, [",a\n", "", "\",b\n", "\n"]));
        text.Append("short text,a\nother text,b\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string MixedDelimiters(Random random, int rows)
    {
        var text = new StringBuilder(Pick(random, ["text,label\n", "text\tlabel\n", "text;label\n", "text|label\n", "text,label\t\n"]));
        for (int i = 0; i < rows; i++)
        {
            text.Append(Text(random)).Append(' ').Append(i).Append(Pick(random, [",", "\t", ";", "|", ",\t"])).Append('l').Append(random.Next(3)).Append(Pick(random, ["\n", "\r\n", "\r", "\t\n"]));
        }

        return text.ToString();
    }

    private static string DeepJson(Random random, int depth)
    {
        string open = Pick(random, ["[", "{\"a\":"]);
        string close = open == "[" ? "]" : "}";
        string nested = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth));
        string line = Pick(random, ["{\"text\": " + nested + ", \"label\": \"a\"}", nested, "{\"text\": \"t\", \"label\": " + nested + "}"]);
        return "{\"text\": \"fine\", \"label\": \"a\"}\n" + line + "\n{\"text\": \"also fine\", \"label\": \"b\"}\n";
    }

    private static string HugeJson(Random random, int elements)
    {
        var json = new StringBuilder("{\"text\": \"t\", \"label\": \"a\", \"extra\": ");
        if (random.Next(2) == 0)
        {
            json.Append('[').AppendJoin(',', Enumerable.Range(0, elements)).Append(']');
        }
        else
        {
            json.Append('{').AppendJoin(',', Enumerable.Range(0, elements).Select(i => $"\"k{i}\": {i}")).Append('}');
        }

        return json.Append("}\n{\"text\": \"u\", \"label\": \"b\"}\n").ToString();
    }

    private MultipartFormDataContent WrongColumns(Random random)
    {
        string header = Pick(random, ["sentence,intent\n", "text\n", "label\n", "text,text\n", ",\n", "\"\",label\n", "text,label,text\n", "\n"]);
        string body = header + string.Concat(Enumerable.Range(0, Size + 2).Select(i => $"{Text(random).Replace(",", " ", StringComparison.Ordinal)} {i},l{random.Next(3)}\n"));
        (string, string)[] fields = Pick(random, new (string, string)[][]
        {
            [],
            [("text_column", "missing")],
            [("label_column", "nope")],
            [("text_column", "label")],
            [("text_column", "   ")],
            [("label_column", "TEXT"), ("text_column", "text")],
        });
        return Form(Encoding.UTF8.GetBytes(body), Pick(random, [".csv", ".jsonl", ".tsv"]), fields);
    }

    private static (string, string)[][] BadFields(Random random) =>
    [
        [("dedupe", "maybe")],
        [("strict", "2")],
        [("redact_pii", "")],
        [("name", new string('n', 257))],
        [("name", "   ")],
        [("name", new string('x', 2_000 + random.Next(100_000)))],
        [("text_column", new string('t', 1_025))],
        [("strict", "true"), ("text_column", "label")],
    ];

    private static MultipartFormDataContent Form(byte[] file, string extension, params (string Name, string Value)[] fields) =>
        Hosting.HttpAssertions.DatasetForm(file, "upload" + extension, fields);

    /// <summary>A multipart body whose envelope is wrong: cut short, a boundary that never comes, no boundary, bad part headers.</summary>
    private static ByteArrayContent BrokenMultipart(Random random, byte[] file)
    {
        const string boundary = "fuzzboundary";
        var body = new List<byte>();
        body.AddRange(Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"));
        body.AddRange(file);
        body.AddRange(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n"));
        byte[] whole = [.. body];
        string contentType = $"multipart/form-data; boundary={boundary}";
        switch (random.Next(7))
        {
            case 0:
                whole = whole[..random.Next(whole.Length)];
                break;
            case 1:
                contentType = "multipart/form-data; boundary=someotherboundary";
                break;
            case 2:
                contentType = "multipart/form-data";
                break;
            case 3:
                contentType = "multipart/form-data; boundary=\"\"";
                break;
            case 4:
                // Part headers on either side of the reader's 16 KB limit.
                whole = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: {new string('x', 1_000 + random.Next(30_000))}\r\n\r\nabc\r\n--{boundary}--\r\n");
                break;
            case 5:
                whole = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nabc\r\n--{boundary}--\r\n");
                break;
            default:
                whole = Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\u00ff.csv\"; filename*=UTF-8''%FF%FE\r\n\r\n").Concat(file).Concat(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n")).ToArray();
                break;
        }

        var content = new ByteArrayContent(whole);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }
}

/// <summary>A well-formed dataset in one of the three formats, with the rows the service must store exactly.</summary>
internal sealed record ValidUpload(string Format, int Seed, int Rows, int Labels)
{
    // Texts mix quoting hazards (commas, quotes, semicolons) and non-ASCII text, but are already in the service's
    // normal form (NFC, single spaces, no edge whitespace) so that the stored rows must equal them exactly.
    private static readonly string[] Words = ["balance", "card", "wire", "café", "Straße", "日本語", "🙂", "a,b", "say \"hi\"", "it's", "x;y", "naïve", "100%", "<b>"];
    private static readonly string[] LabelNames = ["balance", "card_lost", "météo", "問い合わせ", "with space", "a-b.c", "UPPER", "7"];

    public static Gen<ValidUpload> Generator { get; } =
        from format in Gen.Elements("csv", "tsv", "jsonl")
        from seed in Gen.Choose(0, int.MaxValue)
        from rows in Gen.Choose(2, 120)
        from labels in Gen.Choose(2, 6)
        select new ValidUpload(format, seed, rows, labels);

    public override string ToString() => $"{Format}, {Rows} rows, {Labels} labels (seed {Seed})";

    /// <summary>The rows, every label used at least once, each text unique.</summary>
    public IReadOnlyList<(string Text, string Label)> Expected()
    {
        var random = new Random(Seed);
        var labels = LabelNames.OrderBy(_ => random.Next()).Take(Labels).ToArray();
        return Enumerable.Range(0, Rows).Select(i =>
        {
            var words = Enumerable.Range(0, random.Next(1, 8)).Select(_ => Words[random.Next(Words.Length)]).ToList();
            if (Format == "tsv")
            {
                words = words.Select(w => w.Replace("\"", string.Empty, StringComparison.Ordinal)).ToList();
            }

            words.Insert(random.Next(words.Count + 1), $"n{i}");
            return (string.Join(' ', words), labels[i % labels.Length]);
        }).ToList();
    }

    public HttpRequestMessage ToRequest()
    {
        var random = new Random(Seed ^ 0x5bd1e995);
        string newline = random.Next(2) == 0 ? "\n" : "\r\n";
        var file = new StringBuilder(random.Next(4) == 0 ? "\uFEFF" : string.Empty);
        bool labelFirst = random.Next(2) == 0;
        switch (Format)
        {
            case "jsonl":
                foreach (var (text, label) in Expected())
                {
                    file.Append(labelFirst
                        ? JsonSerializer.Serialize(new { label, text, extra = random.Next() })
                        : JsonSerializer.Serialize(new { text, label })).Append(newline);
                }

                break;
            default:
                string separator = Format == "csv" ? "," : "\t";
                file.Append(labelFirst ? $"label{separator}id{separator}text" : $"text{separator}label").Append(newline);
                foreach (var (text, label) in Expected())
                {
                    string field = Format == "csv" && (text.Contains(',') || text.Contains('"') || random.Next(3) == 0) ? Quote(text) : text;
                    file.Append(labelFirst ? $"{label}{separator}{random.Next()}{separator}{field}" : $"{field}{separator}{label}").Append(newline);
                }

                break;
        }

        if (random.Next(3) == 0)
        {
            // No newline after the last row.
            file.Length -= newline.Length;
        }

        return new HttpRequestMessage(HttpMethod.Post, "/v1/datasets")
        {
            Content = Hosting.HttpAssertions.DatasetForm(Encoding.UTF8.GetBytes(file.ToString()), "valid." + Format, ("name", ToString())),
        };
    }

    private static string Quote(string field) => "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
