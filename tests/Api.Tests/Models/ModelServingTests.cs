using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Inference.Sessions;
using TextClassification.Inference.Tokenization;

namespace TextClassification.Api.Tests.Models;

/// <summary>
/// The registry and both serving protocols end to end: models trained through the API, registered, downloaded,
/// predicted through <c>/v1</c> and <c>/v2</c>, moved between versions with an alias, and refused when corrupted.
/// </summary>
public sealed class ModelServingTests(ServedModelFixture served) : IClassFixture<ServedModelFixture>
{
    private const string Name = ServedModelFixture.ModelName;

    private HttpClient Client => served.Client;

    [Fact]
    public async Task A_succeeded_job_registers_numbered_versions_with_their_onnx_checksum()
    {
        Assert.Equal(Name, (string)served.Version1Job["result"]!["model"]!);
        int first = (int)served.Version1Job["result"]!["version"]!;
        int second = (int)served.Version2Job["result"]!["version"]!;
        Assert.Equal((1, 2), (first, second));

        var models = await (await Client.GetAsync("/v1/models")).ReadJsonAsync(HttpStatusCode.OK);
        var model = models["data"]!.AsArray().Single(m => (string)m!["name"]! == Name)!;
        Assert.Equal(2, (int)model["latest_version"]!);
        Assert.Equal([2, 1], model["versions"]!.AsArray().Select(v => (int)v!["version"]!));

        var version = await (await Client.GetAsync($"/v1/models/{Name}/versions/1")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("ngram-bag", (string)version["architecture"]!);
        Assert.Equal(ServedModelFixture.Labels.Order(StringComparer.Ordinal), version["labels"]!.AsArray().Select(l => (string)l!).Order(StringComparer.Ordinal));
        Assert.Equal((string)served.Version1Job["id"]!, (string)version["job_id"]!);
        Assert.Matches("^[0-9a-f]{64}$", (string)version["sha256"]!);
        Assert.True((long)version["size_bytes"]! > 1000);
        Assert.Equal(17, (int)version["opset"]!);
        Assert.NotNull(version["created_at"]);
        Assert.InRange((double)version["out_of_scope_threshold"]!, 0.0, 1.0);
        Assert.True((double)version["metrics"]!["accuracy"]! > 0.6, version.ToJsonString());
        Assert.True((double)version["parity"]!["max_abs_difference"]! <= 1e-4, version.ToJsonString());
        Assert.NotNull(version["metrics"]!["misclassified"]);

        // A predict key reads the version, but not the validation texts it got wrong: those are training data.
        var (_, predictOnly) = await Security.SecurityApi.CreateKeyAsync(Client, "predict");
        using var predictor = Security.SecurityApi.ClientWithKey(served.Factory, predictOnly);
        var seenByPredictor = await (await predictor.GetAsync($"/v1/models/{Name}/versions/1")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Null(seenByPredictor["metrics"]!["misclassified"]);
        Assert.Equal((double)version["metrics"]!["accuracy"]!, (double)seenByPredictor["metrics"]!["accuracy"]!);

        var events = await JobsApi.EventsAsync(Client, (string)served.Version1Job["id"]!);
        Assert.Contains(events, e => (string)e!["type"]! == "exported");
    }

    [Fact]
    public async Task The_downloaded_onnx_file_gives_the_same_labels_in_a_plain_onnx_runtime_session_as_through_v1_and_v2()
    {
        var version = await (await Client.GetAsync($"/v1/models/{Name}/versions/2")).ReadJsonAsync(HttpStatusCode.OK);
        var download = await Client.GetAsync($"/v1/models/{Name}/versions/2/onnx");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        byte[] onnx = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal((string)version["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(onnx)));
        Assert.Equal((long)version["size_bytes"]!, onnx.LongLength);

        string[] texts = ServedModelFixture.Texts;
        var outside = PlainOnnxRuntime.Labels(onnx, texts);

        var v1 = await (await Client.PostAsync($"/v1/models/{Name}/versions/2/predict", HttpAssertions.JsonBody(new { inputs = texts, top_k = 1 })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(Name, (string)v1["model"]!);
        Assert.Equal(2, (int)v1["version"]!);
        var v1Labels = v1["predictions"]!.AsArray().Select(p => (string)p!["top_k"]![0]!["label"]!).ToArray();

        var v2 = await (await Client.PostAsync($"/v2/models/{Name}/versions/2/infer", HttpAssertions.JsonBody(new
        {
            inputs = new[] { new { name = "text", shape = new[] { texts.Length }, datatype = "BYTES", data = texts } },
        }))).ReadJsonAsync(HttpStatusCode.OK);
        var probabilities = Output(v2, "probabilities");
        var labels = version["labels"]!.AsArray().Select(l => (string)l!).ToArray();
        var v2Labels = Enumerable.Range(0, texts.Length)
            .Select(row => labels[PlainOnnxRuntime.ArgMax(probabilities["data"]!.AsArray().Skip(row * labels.Length).Take(labels.Length).Select(v => (float)v!).ToArray())])
            .ToArray();

        Assert.Equal(outside, v1Labels);
        Assert.Equal(outside, v2Labels);
        // The key words decide: each in-scope text gets its own label.
        Assert.Equal(ServedModelFixture.Labels, v1Labels.Take(ServedModelFixture.Labels.Length));

        // Where /v1 says "I don't know", /v2's label is empty and its out_of_scope flag set, row for row.
        var v1OutOfScope = v1["predictions"]!.AsArray().Select(p => (bool)p!["out_of_scope"]!).ToArray();
        Assert.Equal(v1OutOfScope, Output(v2, "out_of_scope")["data"]!.AsArray().Select(v => (bool)v!));
        Assert.Equal(
            v1["predictions"]!.AsArray().Select(p => (string?)p!["label"] ?? string.Empty),
            Output(v2, "label")["data"]!.AsArray().Select(v => (string)v!));
    }

    [Fact]
    public async Task Predict_lists_the_top_k_labels_and_answers_out_of_scope_with_no_label()
    {
        var response = await (await Client.PostAsync($"/v1/models/{Name}/versions/1/predict", HttpAssertions.JsonBody(new
        {
            inputs = new[] { "what is the balance of my account", "zzzz qqqq xxxx" },
            top_k = 3,
        }))).ReadJsonAsync(HttpStatusCode.OK);

        var predictions = response["predictions"]!.AsArray();
        Assert.Equal(2, predictions.Count);
        var first = predictions[0]!;
        Assert.Equal("balance", (string)first["label"]!);
        Assert.False((bool)first["out_of_scope"]!);
        var topK = first["top_k"]!.AsArray();
        Assert.Equal(3, topK.Count);
        Assert.Equal((float)first["score"]!, (float)topK[0]!["score"]!);
        Assert.True(topK.Select(t => (float)t!["score"]!).SequenceEqual(topK.Select(t => (float)t!["score"]!).OrderDescending()));

        // Text made only of words the model never saw has no evidence for any label: below the threshold.
        var unknown = predictions[1]!;
        Assert.True((bool)unknown["out_of_scope"]!, unknown.ToJsonString());
        Assert.Null(unknown["label"]);
        Assert.NotNull(unknown["top_k"]![0]!["label"]);
    }

    [Theory]
    [InlineData("""{"inputs": []}""", "inputs")]
    [InlineData("""{"inputs": ["ok", 42]}""", "inputs[1]")]
    [InlineData("""{"inputs": ["ok", null]}""", "inputs[1]")]
    [InlineData("""{"inputs": ["ok", ""]}""", "inputs[1]")]
    [InlineData("""{"top_k": 2}""", "inputs")]
    [InlineData("""{"inputs": ["ok"], "top_k": 0}""", "top_k")]
    [InlineData("""{"inputs": "not a list"}""", "inputs")]
    [InlineData("{\"inputs\": [\"ok\"", "")]
    public async Task Bad_predict_requests_get_400_problem_details_that_say_where(string body, string where)
    {
        var problem = await (await Client.PostAsync($"/v1/models/{Name}/predict", new StringContent(body, Encoding.UTF8, "application/json")))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(where, problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_many_or_too_long_inputs_get_400_naming_the_limit_and_the_index()
    {
        var tooMany = Enumerable.Repeat("hello", ServedModelFixture.MaxInputs + 1).ToArray();
        var problem = await (await Client.PostAsync($"/v1/models/{Name}/predict", HttpAssertions.JsonBody(new { inputs = tooMany })))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(ServedModelFixture.MaxInputs.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.AllText(), StringComparison.Ordinal);

        var tooLong = new[] { "hello", "hi", new string('a', ServedModelFixture.MaxTextLength + 1) };
        problem = await (await Client.PostAsync($"/v1/models/{Name}/predict", HttpAssertions.JsonBody(new { inputs = tooLong })))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("inputs[2]", problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_models_and_versions_are_404_on_both_protocols()
    {
        var body = HttpAssertions.JsonBody(new { inputs = new[] { "hello" } });
        await (await Client.PostAsync("/v1/models/no-such-model/predict", body)).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await Client.PostAsync($"/v1/models/{Name}/versions/99/predict", body)).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync($"/v1/models/{Name}/versions/99")).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync("/v1/models/no-such-model")).ReadProblemAsync(HttpStatusCode.NotFound);

        var error = await (await Client.PostAsync("/v2/models/no-such-model/infer", V2Body(["hello"]))).ReadJsonAsync(HttpStatusCode.NotFound);
        Assert.Contains("no-such-model", (string)error["error"]!, StringComparison.Ordinal);
        error = await (await Client.GetAsync($"/v2/models/{Name}/versions/99/ready")).ReadJsonAsync(HttpStatusCode.NotFound);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["error"]));
    }

    [Fact]
    public async Task Open_inference_protocol_endpoints_answer_in_the_protocol_shapes()
    {
        Assert.True((bool)(await (await Client.GetAsync("/v2/health/live")).ReadJsonAsync(HttpStatusCode.OK))["live"]!);
        Assert.True((bool)(await (await Client.GetAsync("/v2/health/ready")).ReadJsonAsync(HttpStatusCode.OK))["ready"]!);
        var server = await (await Client.GetAsync("/v2")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.False(string.IsNullOrEmpty((string?)server["name"]));
        Assert.False(string.IsNullOrEmpty((string?)server["version"]));
        Assert.NotNull(server["extensions"]!.AsArray());

        var metadata = await (await Client.GetAsync($"/v2/models/{Name}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(Name, (string)metadata["name"]!);
        Assert.Equal(["1", "2"], metadata["versions"]!.AsArray().Select(v => (string)v!));
        Assert.Equal("onnxruntime_onnx", (string)metadata["platform"]!);
        var input = metadata["inputs"]!.AsArray().Single()!;
        Assert.Equal(("text", "BYTES"), ((string)input["name"]!, (string)input["datatype"]!));
        Assert.Equal([-1L], input["shape"]!.AsArray().Select(d => (long)d!));
        var probabilities = metadata["outputs"]!.AsArray().Single(o => (string)o!["name"]! == "probabilities")!;
        Assert.Equal("FP32", (string)probabilities["datatype"]!);
        Assert.Equal([-1L, ServedModelFixture.Labels.Length], probabilities["shape"]!.AsArray().Select(d => (long)d!));

        var ready = await (await Client.GetAsync($"/v2/models/{Name}/versions/1/ready")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.True((bool)ready["ready"]!);

        var response = await (await Client.PostAsync($"/v2/models/{Name}/versions/1/infer", V2Body(["hello there", "send money"], id: "req-7")))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(Name, (string)response["model_name"]!);
        Assert.Equal("1", (string)response["model_version"]!);
        Assert.Equal("req-7", (string)response["id"]!);
        var label = Output(response, "label");
        Assert.Equal("BYTES", (string)label["datatype"]!);
        Assert.Equal([2L], label["shape"]!.AsArray().Select(d => (long)d!));
        Assert.Equal(2, label["data"]!.AsArray().Count);
        var scores = Output(response, "probabilities");
        Assert.Equal("FP32", (string)scores["datatype"]!);
        Assert.Equal([2L, ServedModelFixture.Labels.Length], scores["shape"]!.AsArray().Select(d => (long)d!));
        var flat = scores["data"]!.AsArray().Select(v => (float)v!).ToArray();
        Assert.Equal(2 * ServedModelFixture.Labels.Length, flat.Length);
        Assert.Equal(1.0, flat.Take(ServedModelFixture.Labels.Length).Sum(), 3);

        // Asking for one output returns only that one.
        var only = await (await Client.PostAsync($"/v2/models/{Name}/infer", HttpAssertions.JsonBody(new
        {
            inputs = new[] { new { name = "text", shape = new[] { 1 }, datatype = "BYTES", data = new[] { "hello" } } },
            outputs = new[] { new { name = "label" } },
        }))).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(["label"], only["outputs"]!.AsArray().Select(o => (string)o!["name"]!));
    }

    [Theory]
    [InlineData("""{"inputs": [{"name": "words", "shape": [1], "datatype": "BYTES", "data": ["hi"]}]}""", "text")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}]}""", "BYTES")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": ["hi"]}]}""", "shape")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["hi", 7]}]}""", "data[1]")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [""]}]}""", "0")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [0], "datatype": "BYTES", "data": []}]}""", "input")]
    [InlineData("""{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hi"]}], "outputs": [{"name": "logits"}]}""", "logits")]
    [InlineData("""{"inputs": []}""", "text")]
    [InlineData("""{"inputs": [{"name": "text",""", "line")]
    [InlineData("""[1, 2, 3]""", "")]
    public async Task Bad_infer_requests_get_a_protocol_error_with_status_400(string body, string mentioned)
    {
        var response = await Client.PostAsync($"/v2/models/{Name}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        var error = await response.ReadJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        string message = (string)error["error"]!;
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.Contains(mentioned, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_production_alias_moves_from_version_1_to_2_under_load_with_no_failed_request()
    {
        var alias = await (await Client.PutAsync($"/v1/models/{Name}/aliases/production", HttpAssertions.JsonBody(new { version = 1 })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, (int)alias["version"]!);
        Assert.Equal(1, await DefaultVersionAsync());

        using var stop = new CancellationTokenSource();
        // How many answers came from each version.
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var load = Enumerable.Range(0, 8).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await Client.PostAsync($"/v1/models/{Name}/predict", HttpAssertions.JsonBody(new { inputs = ServedModelFixture.Texts }));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    continue;
                }

                seen.AddOrUpdate((int)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["version"]!, 1, (_, count) => count + 1);
            }
        }).ToList();

        async Task WaitUntilSeenAsync(int version)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!seen.ContainsKey(version))
            {
                // The clients run until stopped, so one that has ended has thrown: show why.
                if (load.Find(client => client.IsCompleted) is { } ended)
                {
                    await ended;
                }

                Assert.True(failures.IsEmpty, $"Failed requests while waiting for version {version}: {string.Join(" | ", failures.Take(3))}");
                Assert.True(DateTime.UtcNow < deadline,
                    $"No answer from version {version} within 60 s; answers by version: {string.Join(", ", seen.Select(v => $"{v.Key}: {v.Value}"))}");
                await Task.Delay(20);
            }
        }

        try
        {
            // Move the alias only once the load is answered by version 1, and stop only once version 2 answers it.
            // The waits are polled, not timed: a cold model load on a busy machine can take seconds.
            await WaitUntilSeenAsync(1);
            await (await Client.PutAsync($"/v1/models/{Name}/aliases/production", HttpAssertions.JsonBody(new { version = 2 }))).ReadJsonAsync(HttpStatusCode.OK);
            // Once the PUT has answered, every new request goes to version 2.
            Assert.Equal(2, await DefaultVersionAsync());
            await WaitUntilSeenAsync(2);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        Assert.Empty(failures);
        var model = await (await Client.GetAsync($"/v1/models/{Name}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, (int)model["aliases"]!["production"]!);

        // While the alias points at version 2 it cannot be deleted; without the alias, predict uses the latest again.
        var conflict = await (await Client.DeleteAsync($"/v1/models/{Name}/versions/2")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("production", conflict.AllText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync($"/v1/models/{Name}/aliases/production")).StatusCode);
        await (await Client.DeleteAsync($"/v1/models/{Name}/aliases/production")).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(2, await DefaultVersionAsync());
    }

    [Theory]
    [InlineData("Production", """{"version": 1}""", "alias")]
    [InlineData("2", """{"version": 1}""", "alias")]
    [InlineData("staging", """{}""", "version")]
    [InlineData("staging", """{"version": "one"}""", "version")]
    public async Task Bad_alias_requests_get_400_naming_the_field(string alias, string body, string field)
    {
        var problem = await (await Client.PutAsync($"/v1/models/{Name}/aliases/{alias}", new StringContent(body, Encoding.UTF8, "application/json")))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(field, problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alias_cannot_point_at_a_version_that_does_not_exist()
    {
        var problem = await (await Client.PutAsync($"/v1/models/{Name}/aliases/staging", HttpAssertions.JsonBody(new { version = 42 })))
            .ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("version", problem.AllText(), StringComparison.Ordinal);
        await (await Client.GetAsync($"/v1/models/{Name}")).ReadJsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_corrupted_onnx_file_is_refused_with_a_clear_error_and_never_served()
    {
        var version = await (await Client.GetAsync($"/v1/models/{Name}/versions/1")).ReadJsonAsync(HttpStatusCode.OK);
        string file = Directory.EnumerateFiles(served.DataDirectory, "*.onnx", SearchOption.AllDirectories)
            .Single(f => f.Contains((string)version["job_id"]!, StringComparison.Ordinal));
        byte[] original = await File.ReadAllBytesAsync(file);
        byte[] corrupted = (byte[])original.Clone();
        corrupted[corrupted.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(file, corrupted);
        try
        {
            // A fresh instance over the same files has nothing loaded, so it must read (and check) the file.
            await using var restarted = new ServiceFactory(served.DataDirectory, null, ServedModelFixture.Settings);
            using var client = restarted.CreateClient();
            var problem = await (await client.PostAsync($"/v1/models/{Name}/versions/1/predict", HttpAssertions.JsonBody(new { inputs = new[] { "hello" } })))
                .ReadProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Contains("corrupted", problem.AllText(), StringComparison.OrdinalIgnoreCase);

            var error = await (await client.PostAsync($"/v2/models/{Name}/versions/1/infer", V2Body(["hello"]))).ReadJsonAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Contains("corrupted", (string)error["error"]!, StringComparison.OrdinalIgnoreCase);

            var download = await client.GetAsync($"/v1/models/{Name}/versions/1/onnx");
            Assert.False(download.IsSuccessStatusCode);
            Assert.NotEqual(corrupted, await download.Content.ReadAsByteArrayAsync());
        }
        finally
        {
            await File.WriteAllBytesAsync(file, original);
        }
    }

    [Fact]
    public async Task Metrics_report_requests_latency_batches_queue_time_and_loaded_models_for_prometheus()
    {
        await (await Client.PostAsync($"/v1/models/{Name}/versions/2/predict", HttpAssertions.JsonBody(new { inputs = ServedModelFixture.Texts }))).ReadJsonAsync(HttpStatusCode.OK);
        await (await Client.PostAsync($"/v1/models/{Name}/versions/2/predict", HttpAssertions.JsonBody(new { inputs = Array.Empty<string>() }))).ReadProblemAsync(HttpStatusCode.BadRequest);

        var response = await Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        foreach (string family in (string[])["inference_requests_total", "inference_protocol_requests_total", "inference_request_duration_seconds_bucket", "inference_batch_size_bucket", "inference_queue_duration_seconds_bucket", "inference_compute_duration_seconds_bucket", "inference_loaded_models", "inference_model_info"])
        {
            Assert.Contains(family, text, StringComparison.Ordinal);
        }

        Assert.Contains($"model=\"{Name}\"", text, StringComparison.Ordinal);
        Assert.Matches("inference_protocol_requests_total\\{protocol=\"v1\",outcome=\"invalid_input\"\\} [1-9]", text);
        Assert.Matches("execution_provider=\"CPU\"", text);
    }

    [Fact]
    public async Task A_job_asking_for_dynamic_int8_serves_the_quantized_graph_and_records_what_it_changed()
    {
        var datasets = await (await Client.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);
        string dataset = (string)datasets["data"]![0]!["id"]!;
        var created = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = dataset,
            model = "quantized-intents",
            out_of_scope_label = "oos",
            quantization = "dynamic_int8",
            hyperparameters = new { epochs = 4, seed = 1 },
        });
        Assert.Equal("dynamic_int8", (string)created["quantization"]!);
        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());

        var version = await (await Client.GetAsync("/v1/models/quantized-intents/versions/1")).ReadJsonAsync(HttpStatusCode.OK);
        var artifacts = version["artifacts"]!.AsArray();
        var float32 = artifacts.Single(a => (string)a!["variant"]! == "float32")!;
        var int8 = artifacts.Single(a => (string)a!["variant"]! == "int8")!;
        Assert.True((bool)int8["served"]!);
        Assert.False((bool)float32["served"]!);
        Assert.Equal((string)int8["sha256"]!, (string)version["sha256"]!);
        Assert.True((long)int8["size_bytes"]! < (long)float32["size_bytes"]!);

        var quantization = version["quantization"]!;
        Assert.Equal("dynamic_int8", (string)quantization["method"]!);
        Assert.InRange((double)quantization["accuracy_change"]!, -0.2, 0.2);
        Assert.True((double)quantization["speedup_batch1"]! > 0);
        Assert.True((double)quantization["float32"]!["median_milliseconds_batch32"]! > 0);
        Assert.True((double)quantization["int8"]!["accuracy"]! > 0.6, quantization.ToJsonString());

        byte[] served = await Client.GetByteArrayAsync("/v1/models/quantized-intents/versions/1/onnx");
        Assert.Equal((string)int8["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(served)));
        byte[] full = await Client.GetByteArrayAsync("/v1/models/quantized-intents/versions/1/onnx?variant=float32");
        Assert.Equal((string)float32["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(full)));

        var predicted = await (await Client.PostAsync("/v1/models/quantized-intents/predict", HttpAssertions.JsonBody(new { inputs = ServedModelFixture.Texts.Take(5).ToArray() })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(ServedModelFixture.Labels, predicted["predictions"]!.AsArray().Select(p => (string)p!["top_k"]![0]!["label"]!));
        var metadata = await (await Client.GetAsync("/v2/models/quantized-intents")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.True((bool)metadata["parameters"]!["quantized"]!);

        await (await Client.GetAsync("/v1/models/quantized-intents/versions/1/onnx?variant=fp16")).ReadProblemAsync(HttpStatusCode.BadRequest);
        var missing = await (await Client.GetAsync($"/v1/models/{Name}/versions/1/onnx?variant=int8")).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("quantiz", missing.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_a_version_removes_its_row_and_files_and_is_refused_while_an_alias_points_at_it()
    {
        var datasets = await (await Client.GetAsync("/v1/datasets")).ReadJsonAsync(HttpStatusCode.OK);
        var created = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = (string)datasets["data"]![0]!["id"]!,
            model = "short-lived",
            hyperparameters = new { epochs = 1, seed = 1 },
        });
        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        string jobId = (string)job["id"]!;
        Assert.NotEmpty(Directory.EnumerateFiles(served.DataDirectory, $"{jobId}.*", SearchOption.AllDirectories));

        await (await Client.PutAsync("/v1/models/short-lived/aliases/staging", HttpAssertions.JsonBody(new { version = 1 }))).ReadJsonAsync(HttpStatusCode.OK);
        await (await Client.DeleteAsync("/v1/models/short-lived/versions/1")).ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync("/v1/models/short-lived/aliases/staging")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync("/v1/models/short-lived/versions/1")).StatusCode);
        await (await Client.GetAsync("/v1/models/short-lived/versions/1")).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await Client.PostAsync("/v1/models/short-lived/predict", HttpAssertions.JsonBody(new { inputs = new[] { "hello" } }))).ReadProblemAsync(HttpStatusCode.NotFound);
        await (await Client.DeleteAsync("/v1/models/short-lived/versions/1")).ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.DoesNotContain(Directory.EnumerateFiles(served.DataDirectory, $"{jobId}.*", SearchOption.AllDirectories), f => f.Contains("models", StringComparison.Ordinal));
    }

    private async Task<int> DefaultVersionAsync()
    {
        var response = await (await Client.PostAsync($"/v1/models/{Name}/predict", HttpAssertions.JsonBody(new { inputs = new[] { "hello" } })))
            .ReadJsonAsync(HttpStatusCode.OK);
        return (int)response["version"]!;
    }

    private static StringContent V2Body(string[] texts, string? id = null) => HttpAssertions.JsonBody(new
    {
        id,
        inputs = new[] { new { name = "text", shape = new[] { texts.Length }, datatype = "BYTES", data = texts } },
    });

    private static JsonNode Output(JsonNode response, string name) =>
        response["outputs"]!.AsArray().Single(o => (string)o!["name"]! == name)!;


    /// <summary>
    /// What any ONNX Runtime user would do with the downloaded file: read the tokenizer and labels from its metadata,
    /// encode, run, take the best logit. Nothing of the service's serving code is involved.
    /// </summary>
}
