using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>
/// Runs one fuzz property with FsCheck and says how many cases it ran. The case count is modest for CI and scales
/// with <c>FUZZ_CASES</c> (cases per property) for a longer recorded run. Every generated case carries
/// the seed of its content, so a failure names the exact input that broke the service.
/// </summary>
internal static class Fuzzing
{
    /// <summary>The longest any one request may take before the property calls it a hang.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Cases for a property: <c>FUZZ_CASES</c> when set, else <paramref name="ciDefault"/>.</summary>
    public static int Cases(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), out int cases) && cases > 0 ? cases : ciDefault;

    /// <summary>
    /// Checks <paramref name="property"/> on <paramref name="cases"/> generated values; a thrown assertion fails the
    /// test with the seed and the value that broke it. Each value's <c>ToString</c> is its reproduction recipe.
    /// </summary>
    public static void Check<T>(ITestOutputHelper output, string name, int cases, Gen<T> generator, Func<T, Task> property)
    {
        int ran = 0;
        var clock = Stopwatch.StartNew();
        var config = Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true).WithName(name);
        FsCheck.Check.One(config, Prop.ForAll(generator.ToArbitrary(), async value =>
        {
            Interlocked.Increment(ref ran);
            await property(value);
        }));
        string line = $"fuzz property '{name}': {cases} cases passed ({ran} evaluations) in {clock.Elapsed.TotalSeconds:F1} s";
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    /// <summary>Sends <paramref name="request"/> and reads the whole answer, failing if that takes longer than <see cref="RequestTimeout"/>.</summary>
    public static async Task<Answer> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using var timeout = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var response = await client.SendAsync(request, timeout.Token);
            string body = await response.Content.ReadAsStringAsync(timeout.Token);
            return new Answer(response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{request.Method} {request.RequestUri} got no answer within {RequestTimeout.TotalSeconds} s.");
        }
    }
}

/// <summary>One HTTP answer, read whole.</summary>
internal sealed record Answer(HttpStatusCode Status, string? MediaType, string Body)
{
    public int Code => (int)Status;

    public bool IsSuccess => Code is >= 200 and < 300;

    /// <summary>Never a 5xx; a refusal is an RFC 9457 problem whose status matches the response's.</summary>
    public void AssertRefusalIsProblem()
    {
        Assert.True(Code < 500, $"A server error: {this}");
        if (IsSuccess)
        {
            return;
        }

        Assert.True(MediaType == "application/problem+json", $"A refusal that is not problem details: {this}");
        var problem = Parse();
        Assert.True(problem is JsonObject, $"A problem that is not a JSON object: {this}");
        Assert.True((int?)problem!["status"] == Code, $"The problem's status is not the response's: {this}");
        Assert.False(string.IsNullOrWhiteSpace((string?)problem["title"]), $"A problem with no title: {this}");
    }

    /// <summary>Never a 5xx; a refusal is the Open Inference Protocol's <c>{"error": "..."}</c>.</summary>
    public void AssertRefusalIsProtocolError()
    {
        Assert.True(Code < 500, $"A server error: {this}");
        if (IsSuccess)
        {
            return;
        }

        Assert.True(MediaType == "application/json", $"A v2 refusal that is not JSON: {this}");
        var error = Parse();
        Assert.True(error is JsonObject && error["error"]?.GetValueKind() == JsonValueKind.String
            && !string.IsNullOrWhiteSpace((string?)error["error"]), $"A v2 refusal without an error message: {this}");
    }

    public JsonNode? Parse()
    {
        try
        {
            return JsonNode.Parse(Body);
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"The answer is not JSON ({e.Message}): {this}");
        }
    }

    public override string ToString() => $"{Code} {MediaType}: {(Body.Length > 600 ? Body[..600] + "…" : Body)}";
}
