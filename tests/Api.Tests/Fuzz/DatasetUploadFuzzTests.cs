using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>
/// Thousands of malformed dataset uploads: the service answers each in time, never with a 5xx, refuses with problem
/// details, and a refused upload stores nothing (no row, no artifact, no spooled file). Generated valid uploads come
/// back with exactly the rows that were sent.
/// </summary>
public sealed class DatasetUploadFuzzTests(SqliteServiceFixture service, ITestOutputHelper output) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public void A_malformed_upload_is_refused_in_time_with_a_problem_and_stores_nothing()
    {
        var outcomes = new Dictionary<string, int>();
        Fuzzing.Check(output, "malformed dataset uploads", Fuzzing.Cases(1_000), MalformedUpload.Generator, async upload =>
        {
            var before = await StoredState.TakeAsync(service.Factory);
            var answer = await Fuzzing.SendAsync(service.Client, upload.ToRequest());
            answer.AssertRefusalIsProblem();
            lock (outcomes)
            {
                string key = $"{upload.Fault} → {answer.Code}";
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            }

            if (answer.IsSuccess)
            {
                // Some damage leaves enough valid rows to accept (a bad row is skipped and reported); the dataset must
                // then be whole: its rows readable and counted, and deleting it removes every file it added.
                Assert.Equal(HttpStatusCode.Created, answer.Status);
                var dataset = answer.Parse()!;
                await AssertRowsReadableAsync(dataset);
                await DeleteAsync((string)dataset["id"]!);
            }

            before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), $"{upload} was answered {answer.Code} (and deleted if accepted)");
        });

        foreach (var (outcome, count) in outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {outcome}: {count}");
        }
    }

    [Fact]
    public void A_valid_upload_stores_exactly_the_rows_it_sent()
    {
        Fuzzing.Check(output, "valid dataset uploads round-trip", Fuzzing.Cases(150), ValidUpload.Generator, async upload =>
        {
            var before = await StoredState.TakeAsync(service.Factory);
            var answer = await Fuzzing.SendAsync(service.Client, upload.ToRequest());
            Assert.True(answer.Status == HttpStatusCode.Created, $"{upload} was refused: {answer}");
            var dataset = answer.Parse()!;
            var expected = upload.Expected();
            Assert.Equal(expected.Count, (int)dataset["row_count"]!);
            Assert.Equal(0, (int)dataset["rows_skipped"]!);
            Assert.Equal(upload.Format, (string)dataset["format"]!);
            Assert.Equal(
                expected.GroupBy(r => r.Label).ToDictionary(g => g.Key, g => g.Count()),
                dataset["labels"]!.AsArray().ToDictionary(l => (string)l!["label"]!, l => (int)l!["count"]!));

            var stored = await ReadRowsAsync((string)dataset["id"]!);
            Assert.Equal(expected, stored);

            await DeleteAsync((string)dataset["id"]!);
            before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), $"{upload} was deleted");
        });
    }

    /// <summary>
    /// Found by the fuzzer, fixed in cd85f14 (BrokenMultipart, seed 809135213): MultipartReader's HeadersLengthLimit (16 KB, set in
    /// MultipartUploadForm.ReadAsync) throws InvalidDataException, which no handler maps, so the client gets a 500.
    /// </summary>
    [Fact]
    public async Task Multipart_part_headers_over_the_limit_are_refused_with_a_400()
    {
        const string boundary = "b";
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes(
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{new string('x', 20_000)}.csv\"\r\n\r\ntext,label\r\n--{boundary}--\r\n"));
        content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
        var before = await StoredState.TakeAsync(service.Factory);
        var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, "/v1/datasets") { Content = content });
        answer.AssertRefusalIsProblem();
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), "an upload was refused");
    }

    /// <summary>
    /// Found by the fuzzer, fixed in cd85f14 (BrokenMultipart, seeds 146888293, 1352935914, 143408499): a multipart body that ends
    /// before its closing boundary (cut short, or a Content-Type boundary that never appears in the body)
    /// makes MultipartReaderStream throw IOException ("Unexpected end of Stream") in MultipartUploadForm.SpoolAsync,
    /// which no handler maps, so the client gets a 500 for its own malformed request.
    /// </summary>
    [Fact]
    public async Task A_multipart_body_cut_short_is_refused_with_a_400()
    {
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes(
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\ntext,label\nhello,a\nbye,b\n"));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        var before = await StoredState.TakeAsync(service.Factory);
        var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, "/v1/datasets") { Content = content });
        answer.AssertRefusalIsProblem();
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), "an upload was refused");
    }

    private async Task AssertRowsReadableAsync(JsonNode dataset)
    {
        int rowCount = (int)dataset["row_count"]!;
        Assert.True(rowCount > 0, $"An accepted dataset with no rows: {dataset.ToJsonString()}");
        Assert.True(dataset["labels"]!.AsArray().Count >= 2, $"An accepted dataset with fewer than two labels: {dataset.ToJsonString()}");
        Assert.Equal(rowCount, (await ReadRowsAsync((string)dataset["id"]!)).Count);
    }

    private async Task<List<(string Text, string Label)>> ReadRowsAsync(string id)
    {
        var rows = new List<(string, string)>();
        while (true)
        {
            var page = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Get, $"/v1/datasets/{id}/rows?offset={rows.Count}&limit=500"));
            Assert.True(page.Status == HttpStatusCode.OK, $"Rows of {id}: {page}");
            var data = page.Parse()!["data"]!.AsArray();
            rows.AddRange(data.Select(r => ((string)r!["text"]!, (string)r["label"]!)));
            if (data.Count < 500)
            {
                return rows;
            }
        }
    }

    private async Task DeleteAsync(string id)
    {
        var deleted = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Delete, $"/v1/datasets/{id}"));
        Assert.True(deleted.Status == HttpStatusCode.NoContent, $"Deleting {id}: {deleted}");
    }
}
