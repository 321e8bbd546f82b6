using System.Net;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using TextClassification.Api.Tests.Fuzz;
using TextClassification.Api.Tests.Hosting;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Models;

/// <summary>
/// Every request default that depends on a model's shape holds at its extremes: a request that leaves out
/// <c>top_k</c> (on <c>/v1</c>) or <c>outputs</c> (on <c>/v2</c>) is answered for a model of two labels and for one of
/// thousands, whatever its sequence length and however many texts the request holds; and a model exported without an
/// out-of-scope label (so without a threshold) gives every text its best label. Models are written as ONNX with
/// random weights (<see cref="RandomClassifier"/>) and served by the real application over HTTP.
/// </summary>
public sealed class ModelShapeDefaultsTests(GeneratedModelsFixture service, ITestOutputHelper output) : IClassFixture<GeneratedModelsFixture>
{
    /// <summary><c>Inference:DefaultTopK</c> as shipped; the fixture's service runs with every setting at its default.</summary>
    private const int DefaultTopK = 3;

    /// <summary><c>Inference:MaxBatchSize</c> as shipped: requests with more texts are run in several batches.</summary>
    private const int DefaultMaxBatchSize = 32;

    /// <summary>The review from the bug report that first met a two-label model.</summary>
    private const string Review = "很快，好吃，味道足，量大";

    private HttpClient Client => service.Client;

    [Fact]
    public async Task The_default_predict_request_lists_both_labels_of_a_two_label_model()
    {
        string name = await service.PublishAsync(RandomClassifier.Metadata(["negative", "positive"], maxSequenceLength: 128), seed: 1);

        foreach (string path in (string[])[$"/v1/models/{name}/predict", $"/v1/models/{name}/versions/1/predict"])
        {
            var response = await (await Client.PostAsync(path, HttpAssertions.JsonBody(new { inputs = new[] { Review } }))).ReadJsonAsync(HttpStatusCode.OK);

            var prediction = Assert.Single(response["predictions"]!.AsArray())!;
            var topK = prediction["top_k"]!.AsArray();
            Assert.Equal(["negative", "positive"], topK.Select(s => (string)s!["label"]!).Order(StringComparer.Ordinal));
            Assert.Equal((string)topK[0]!["label"]!, (string?)prediction["label"]);
            Assert.False((bool)prediction["out_of_scope"]!);
        }

        var infer = await (await Client.PostAsync($"/v2/models/{name}/infer", V2Body([Review]))).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal([1L, 2L], Output(infer, "probabilities")["shape"]!.AsArray().Select(d => (long)d!));
    }

    [Fact]
    public async Task An_explicit_top_k_is_used_as_asked_and_refused_above_the_label_count()
    {
        string name = await service.PublishAsync(RandomClassifier.Metadata(["negative", "positive"], maxSequenceLength: 128), seed: 2);

        var all = await (await Client.PostAsync($"/v1/models/{name}/predict", HttpAssertions.JsonBody(new { inputs = new[] { Review }, top_k = 2 })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, all["predictions"]![0]!["top_k"]!.AsArray().Count);
        var one = await (await Client.PostAsync($"/v1/models/{name}/predict", HttpAssertions.JsonBody(new { inputs = new[] { Review }, top_k = 1 })))
            .ReadJsonAsync(HttpStatusCode.OK);
        Assert.Single(one["predictions"]![0]!["top_k"]!.AsArray());

        var problem = await (await Client.PostAsync($"/v1/models/{name}/predict", HttpAssertions.JsonBody(new { inputs = new[] { Review }, top_k = 3 })))
            .ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("top_k is 3; it must be between 1 and the model's 2 labels", problem.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Default_predict_and_infer_requests_are_answered_for_any_label_count_and_sequence_length()
    {
        var generator =
            from labels in Gen.Frequency((3, Gen.Choose(2, 4)), (3, Gen.Choose(5, 300)), (2, Gen.Choose(301, 4096)))
            from maxSequenceLength in Gen.Frequency((1, Gen.Constant(1)), (3, Gen.Choose(2, 16)), (2, Gen.Choose(17, 512)))
            from texts in Gen.Frequency((5, Gen.Choose(1, 4)), (1, Gen.Choose(DefaultMaxBatchSize + 1, DefaultMaxBatchSize + 8)))
            from versioned in Gen.Elements(false, true)
            from seed in Gen.Choose(0, int.MaxValue)
            select new ModelShape(labels, maxSequenceLength, texts, versioned, seed);

        Fuzzing.Check(output, "default requests over model shapes", Fuzzing.Cases(100), generator, CheckDefaultsAsync);
    }

    private async Task CheckDefaultsAsync(ModelShape shape)
    {
        var labels = RandomClassifier.Labels(shape.Labels);
        var known = labels.ToHashSet(StringComparer.Ordinal);
        string name = await service.PublishAsync(RandomClassifier.Metadata(labels, shape.MaxSequenceLength), shape.Seed);
        string[] texts = shape.Texts();
        string version = shape.Versioned ? "/versions/1" : string.Empty;

        // /v1 with only inputs: the best min(default, labels) labels, best first, and never out of scope.
        var v1 = await PostAsync(shape, $"/v1/models/{name}{version}/predict", new { inputs = texts });
        var predictions = v1["predictions"]!.AsArray();
        Assert.True(predictions.Count == texts.Length, $"{shape}: {predictions.Count} predictions for {texts.Length} texts");
        foreach (var prediction in predictions)
        {
            var topK = prediction!["top_k"]!.AsArray();
            var scores = topK.Select(s => (float)s!["score"]!).ToArray();
            var topLabels = topK.Select(s => (string)s!["label"]!).ToArray();
            Assert.True(topK.Count == Math.Min(DefaultTopK, shape.Labels), $"{shape}: top_k lists {topK.Count} labels: {prediction.ToJsonString()}");
            Assert.True(topLabels.Distinct().Count() == topLabels.Length && topLabels.All(known.Contains), $"{shape}: {prediction.ToJsonString()}");
            Assert.True(scores.SequenceEqual(scores.OrderDescending()), $"{shape}: top_k is not best first: {prediction.ToJsonString()}");
            Assert.True(
                !(bool)prediction["out_of_scope"]! && (string?)prediction["label"] == topLabels[0] && (float)prediction["score"]! == scores[0],
                $"{shape}: a model without an out-of-scope label must give its best label: {prediction.ToJsonString()}");
        }

        // /v2 with only the text input: every output, a softmax row per text that agrees with /v1.
        var v2 = await PostAsync(shape, $"/v2/models/{name}{version}/infer", new
        {
            inputs = new[] { new { name = "text", shape = new[] { texts.Length }, datatype = "BYTES", data = texts } },
        });
        Assert.Equal(["label", "probabilities", "out_of_scope"], v2["outputs"]!.AsArray().Select(o => (string)o!["name"]!));
        var probabilities = Output(v2, "probabilities");
        Assert.Equal([texts.Length, (long)shape.Labels], probabilities["shape"]!.AsArray().Select(d => (long)d!));
        var flat = probabilities["data"]!.AsArray().Select(v => (float)v!).ToArray();
        var v2Labels = Output(v2, "label")["data"]!.AsArray().Select(v => (string)v!).ToArray();
        Assert.True(Output(v2, "out_of_scope")["data"]!.AsArray().All(v => !(bool)v!), $"{shape}: {Output(v2, "out_of_scope").ToJsonString()}");
        for (int row = 0; row < texts.Length; row++)
        {
            var values = flat.AsSpan(row * shape.Labels, shape.Labels);
            int best = ArgMax(values);
            Assert.True(Math.Abs(Sum(values) - 1) < 1e-3, $"{shape}: row {row} sums to {Sum(values)}");
            Assert.True(v2Labels[row] == labels[best] && v2Labels[row] == (string?)predictions[row]!["label"], $"{shape}: row {row}: /v2 says {v2Labels[row]}, /v1 {predictions[row]!.ToJsonString()}");
            Assert.True(Math.Abs(values[best] - (float)predictions[row]!["score"]!) < 1e-5, $"{shape}: row {row}: /v2 {values[best]}, /v1 {predictions[row]!.ToJsonString()}");
        }

        var metadata = await (await Client.GetAsync($"/v2/models/{name}{version}")).ReadJsonAsync(HttpStatusCode.OK);
        var declared = metadata["outputs"]!.AsArray().Single(o => (string)o!["name"]! == "probabilities")!;
        Assert.Equal([-1L, shape.Labels], declared["shape"]!.AsArray().Select(d => (long)d!));
        Assert.Null(metadata["parameters"]!["out_of_scope_threshold"]);

        // An explicit top_k may name every label, and no more.
        var every = await PostAsync(shape, $"/v1/models/{name}{version}/predict", new { inputs = texts[..1], top_k = shape.Labels });
        Assert.Equal(labels, every["predictions"]![0]!["top_k"]!.AsArray().Select(s => (string)s!["label"]!).Order(StringComparer.Ordinal));
        var tooMany = await Client.PostAsync($"/v1/models/{name}{version}/predict", HttpAssertions.JsonBody(new { inputs = texts[..1], top_k = shape.Labels + 1 }));
        Assert.Contains("top_k", (await tooMany.ReadProblemAsync(HttpStatusCode.BadRequest)).AllText(), StringComparison.Ordinal);
    }

    private async Task<JsonNode> PostAsync(ModelShape shape, string path, object body)
    {
        using var response = await Client.PostAsync(path, HttpAssertions.JsonBody(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{shape}: POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static StringContent V2Body(string[] texts) => HttpAssertions.JsonBody(new
    {
        inputs = new[] { new { name = "text", shape = new[] { texts.Length }, datatype = "BYTES", data = texts } },
    });

    private static JsonNode Output(JsonNode response, string name) =>
        response["outputs"]!.AsArray().Single(o => (string)o!["name"]! == name)!;

    /// <summary>The index of the largest value, ties to the lower index (as the service breaks them).</summary>
    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static double Sum(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float value in values)
        {
            sum += value;
        }

        return sum;
    }

    /// <summary>One generated case; its text is the recipe that reproduces it.</summary>
    private sealed record ModelShape(int Labels, int MaxSequenceLength, int TextCount, bool Versioned, int Seed)
    {
        /// <summary>
        /// The request's texts: the review from the bug report, known and unknown words, and texts longer than the
        /// model's sequence length, which the tokenizer cuts.
        /// </summary>
        public string[] Texts()
        {
            var random = new Random(Seed);
            return Enumerable.Range(0, TextCount).Select(i => (i % 4) switch
            {
                0 => Review,
                1 => string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => RandomClassifier.Vocabulary[random.Next(RandomClassifier.Vocabulary.Length)])),
                2 => "words the model never saw",
                _ => string.Join(' ', Enumerable.Repeat("tasty", MaxSequenceLength + random.Next(1, 20))),
            }).ToArray();
        }

        public override string ToString() =>
            $"{Labels} labels, max_sequence_length {MaxSequenceLength}, {TextCount} texts, {(Versioned ? "versioned" : "default")} path, seed {Seed}";
    }
}
