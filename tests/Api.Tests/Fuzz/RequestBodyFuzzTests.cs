using System.Net;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>
/// Malformed bodies (and odd paths) for the JSON endpoints: job creation, predict, alias moves and Open Inference
/// Protocol infer. Each request is answered in time and never with a 5xx; /v1 refuses with problem details, /v2 with
/// <c>{"error"}</c>; a refused job creates no job, and nothing a prediction does leaves a row or a file behind.
/// </summary>
public sealed class RequestBodyFuzzTests(FuzzModelFixture service, ITestOutputHelper output) : IClassFixture<FuzzModelFixture>
{
    private static readonly string[] ModelNames = [FuzzModelFixture.ModelName, FuzzModelFixture.ModelName, FuzzModelFixture.ModelName, "missing-model", "UPPER", "a%2Fb", "%2500", "x..y", "%F0%9F%99%82", new string('m', 300)];

    private static readonly string[] Versions = ["1", "1", "2", "0", "-1", "99999999999", "abc", "1.5", "%20"];

    private static readonly string[] Aliases = ["production", "staging", "canary-1", "Production", "1abc", "a b", "%2E%2E", "a.b_c-d", new string('a', 65), "%F0%9F%99%82", "-x"];

    [Fact]
    public async Task A_malformed_job_request_is_refused_with_a_problem_and_creates_no_job()
    {
        await service.WaitUntilNoJobIsActiveAsync();
        int accepted = 0;
        Fuzzing.Check(output, "fine-tuning job create bodies", Fuzzing.Cases(300), JsonBody.Generator(ValidJob), async body =>
        {
            var before = await StoredState.TakeAsync(service.Factory);
            var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, "/v1/fine-tuning/jobs") { Content = body.ToContent() });
            answer.AssertRefusalIsProblem();
            var after = await StoredState.TakeAsync(service.Factory);
            if (answer.IsSuccess)
            {
                // A mutation that left the request valid (an optional field removed, say): it must be one new job.
                Assert.Equal(HttpStatusCode.Created, answer.Status);
                Assert.Equal(before.Jobs + 1, after.Jobs);
                Interlocked.Increment(ref accepted);
                var cancel = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, $"/v1/fine-tuning/jobs/{(string)answer.Parse()!["id"]!}/cancel"));
                cancel.AssertRefusalIsProblem();
                return;
            }

            Assert.True(before.Jobs == after.Jobs && before.Datasets == after.Datasets, $"{body} was refused ({answer}) but the rows changed: {before} → {after}");
        });
        output.WriteLine($"  accepted (valid after mutation, then cancelled): {accepted}");
        await service.WaitUntilNoJobIsActiveAsync();
    }

    [Fact]
    public async Task A_malformed_predict_request_is_refused_with_a_problem_and_stores_nothing()
    {
        await service.WaitUntilNoJobIsActiveAsync();
        var generator =
            from body in JsonBody.Generator(ValidPredict)
            from name in Gen.Elements(ModelNames)
            from version in Gen.OrNull(Gen.Elements(Versions))
            select (Body: body, Path: version is null ? $"/v1/models/{name}/predict" : $"/v1/models/{name}/versions/{version}/predict");
        int ok = 0;
        Fuzzing.Check(output, "/v1 predict bodies", Fuzzing.Cases(1_000), generator, async fuzz =>
        {
            var before = await StoredState.TakeAsync(service.Factory);
            var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, fuzz.Path) { Content = fuzz.Body.ToContent() });
            answer.AssertRefusalIsProblem();
            if (answer.IsSuccess)
            {
                Interlocked.Increment(ref ok);
                var predictions = answer.Parse()!["predictions"]!.AsArray();
                Assert.True(predictions.Count is > 0 and <= FuzzModelFixture.MaxInputs, $"{fuzz} answered {answer}");
            }

            before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), $"{fuzz} was a prediction");
        });
        output.WriteLine($"  answered 200: {ok}");
    }

    [Fact]
    public async Task A_malformed_alias_request_is_refused_with_a_problem()
    {
        await service.WaitUntilNoJobIsActiveAsync();
        var generator =
            from body in JsonBody.Generator(random => new JsonObject { ["version"] = random.Next(5) == 0 ? 2 : 1 })
            from name in Gen.Elements(ModelNames)
            from alias in Gen.Elements(Aliases)
            select (Body: body, Path: $"/v1/models/{name}/aliases/{alias}");
        Fuzzing.Check(output, "/v1 alias PUT bodies", Fuzzing.Cases(400), generator, async fuzz =>
        {
            var before = await StoredState.TakeAsync(service.Factory);
            var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Put, fuzz.Path) { Content = fuzz.Body.ToContent() });
            answer.AssertRefusalIsProblem();
            if (answer.IsSuccess)
            {
                Assert.True((int?)answer.Parse()!["version"] == 1, $"{fuzz} moved an alias to a version that does not exist: {answer}");
            }

            before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), $"{fuzz} was an alias move");
        });
    }

    [Fact]
    public async Task A_malformed_inference_request_is_refused_with_a_protocol_error_and_stores_nothing()
    {
        await service.WaitUntilNoJobIsActiveAsync();
        var generator =
            from body in JsonBody.Generator(ValidInfer)
            from name in Gen.Elements(ModelNames)
            from version in Gen.OrNull(Gen.Elements(Versions))
            select (Body: body, Path: version is null ? $"/v2/models/{name}/infer" : $"/v2/models/{name}/versions/{version}/infer");
        int ok = 0;
        Fuzzing.Check(output, "/v2 infer bodies", Fuzzing.Cases(1_000), generator, async fuzz =>
        {
            var before = await StoredState.TakeAsync(service.Factory);
            var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, fuzz.Path) { Content = fuzz.Body.ToContent() });
            answer.AssertRefusalIsProtocolError();
            if (answer.IsSuccess)
            {
                Interlocked.Increment(ref ok);
                var outputs = answer.Parse()!["outputs"]!.AsArray();
                Assert.True(outputs.Count > 0, $"{fuzz} answered {answer}");
                long count = (long)outputs[0]!["shape"]![0]!;
                Assert.True(count is > 0 and <= FuzzModelFixture.MaxInputs, $"{fuzz} answered {answer}");
            }

            before.AssertUnchanged(await StoredState.TakeAsync(service.Factory), $"{fuzz} was an inference");
        });
        output.WriteLine($"  answered 200: {ok}");
    }

    /// <summary>
    /// Found by the fuzzer, fixed in cd85f14 (WrongContentType, seed 706802477): the infer routes declared
    /// <c>Accepts&lt;OipInferenceRequest&gt;("application/json")</c> in src/Api/Endpoints/OpenInferenceEndpoints.cs, so
    /// routing refuses other content types with a 415 problem+json before the protocol's error filter runs; /v2 promises
    /// <c>{"error": "..."}</c> for every failure.
    /// </summary>
    [Fact]
    public async Task An_inference_request_that_is_not_json_is_refused_with_a_protocol_error()
    {
        var content = new StringContent("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hi"]}]}""", System.Text.Encoding.UTF8, "text/plain");
        var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{FuzzModelFixture.ModelName}/infer") { Content = content });
        Assert.False(answer.IsSuccess, answer.ToString());
        answer.AssertRefusalIsProtocolError();
    }

    /// <summary>
    /// Found by the fuzzer, fixed in cd85f14 (Mutated, seed 1989502073; InvalidUtf8, seed 1057970118): a text in <c>data</c> holding a
    /// lone UTF-16 surrogate escape (<c>"\ud800"</c>) or invalid UTF-8 bytes makes <c>JsonElement.GetString()</c> throw
    /// InvalidOperationException in OpenInferenceEndpoints.Validate (src/Api/Endpoints/OpenInferenceEndpoints.cs), which
    /// the protocol filter turns into a 500; /v1 predict refuses the same texts with a 400.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_inference_text_that_is_not_valid_unicode_is_refused_with_a_400(bool invalidUtf8)
    {
        byte[] body = System.Text.Encoding.UTF8.GetBytes("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["\ud800"]}]}""");
        if (invalidUtf8)
        {
            body = [.. System.Text.Encoding.UTF8.GetBytes("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"""), 0xC3, 0x28, .. System.Text.Encoding.UTF8.GetBytes("\"]}]}")];
        }

        var content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } };
        var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{FuzzModelFixture.ModelName}/infer") { Content = content });
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        answer.AssertRefusalIsProtocolError();
    }

    /// <summary>
    /// Found by the fuzzer (Mutated, seeds 1157705616 and 1941189678): a null in <c>inputs</c> (or in <c>outputs</c>)
    /// makes OpenInferenceEndpoints.Validate (src/Api/Endpoints/OpenInferenceEndpoints.cs: <c>inputs[0].Name</c>, the
    /// <c>inputs.Select(i => i.Name)</c> of its error message, and <c>o.Name</c>) throw NullReferenceException, answered 500.
    /// </summary>
    [Theory]
    [InlineData("""{"inputs": [null]}""")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hi"]}, null]}""")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hi"]}], "outputs": [null]}""")]
    public async Task An_inference_request_with_null_list_elements_is_refused_with_a_400(string body)
    {
        var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var answer = await Fuzzing.SendAsync(service.Client, new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{FuzzModelFixture.ModelName}/infer") { Content = content });
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        answer.AssertRefusalIsProtocolError();
    }

    private JsonObject ValidJob(Random random)
    {
        var job = new JsonObject
        {
            ["training_dataset_id"] = service.DatasetId,
            ["model"] = $"fuzz-job-{random.Next(1_000)}",
            ["hyperparameters"] = new JsonObject { ["epochs"] = 1, ["seed"] = random.Next(100), ["batch_size"] = 8, ["learning_rate"] = 0.01 },
            ["architecture"] = "ngram-bag",
            ["quantization"] = "none",
        };
        if (random.Next(2) == 0)
        {
            job["validation_dataset_id"] = service.DatasetId;
            job["out_of_scope_label"] = "greeting";
            job["base_model"] = FuzzModelFixture.ModelName + ":1";
        }

        return job;
    }

    private static JsonObject ValidPredict(Random random) => new()
    {
        ["inputs"] = new JsonArray(Enumerable.Range(0, random.Next(1, 5)).Select(_ => (JsonNode?)JsonBody.RandomText(random)).ToArray()),
        ["top_k"] = random.Next(1, 4),
    };

    private static JsonObject ValidInfer(Random random)
    {
        int n = random.Next(1, 5);
        return new JsonObject
        {
            ["id"] = "req-" + random.Next(),
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "text",
                ["shape"] = new JsonArray(n),
                ["datatype"] = "BYTES",
                ["data"] = new JsonArray(Enumerable.Range(0, n).Select(_ => (JsonNode?)JsonBody.RandomText(random)).ToArray()),
            }),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" }, new JsonObject { ["name"] = "probabilities" }),
        };
    }
}
