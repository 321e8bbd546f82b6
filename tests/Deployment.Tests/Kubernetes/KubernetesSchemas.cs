using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace TextClassification.Deployment.Tests.Kubernetes;

/// <summary>
/// The Kubernetes JSON Schemas of the kinds this repository deploys (Schemas/kubernetes-schemas.json, vendored; see
/// Schemas/README.md), used the way <c>kubeconform -strict</c> uses its schemas: a field of the wrong type, a missing
/// required field, and a field the kind does not have all fail. Kubernetes' own definitions leave unknown fields
/// open (the API server drops them with a warning); here they are refused, because a misspelt probe or limit that
/// is silently dropped is exactly the mistake a deployment check exists to catch.
/// </summary>
internal static class KubernetesSchemas
{
    private const string ResourceName = "kubernetes-schemas.json";

    private static readonly Lazy<JsonObject> Bundle = new(LoadBundle);

    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);

    /// <summary>The apiVersion/kind pairs there is a schema for.</summary>
    public static IEnumerable<string> Kinds => Bundle.Value["kinds"]!.AsObject().Select(kind => kind.Key);

    /// <summary>What is wrong with <paramref name="manifest"/>, one line per fault; empty when it is valid.</summary>
    public static IReadOnlyList<string> Validate(JsonObject manifest)
    {
        string apiVersion = (string?)manifest["apiVersion"] ?? "";
        string kind = (string?)manifest["kind"] ?? "";
        string key = $"{apiVersion}/{kind}";
        if (Bundle.Value["kinds"]![key] is null)
        {
            return [$"no schema for apiVersion '{apiVersion}' kind '{kind}' (known: {string.Join(", ", Kinds)})"];
        }

        var schema = Schemas.GetOrAdd(key, Build);
        using var instance = JsonDocument.Parse(manifest.ToJsonString());
        var results = schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        // Kubernetes' optional fields are oneOf [the definition, null]: a fault inside a field also fails the null
        // branch and the oneOf itself, which say nothing more, so only the faults within the definition are listed.
        return (results.Details ?? [])
            .Where(detail => detail.Errors is { Count: > 0 })
            .SelectMany(detail => detail.Errors!
                .Where(error => error.Key != "oneOf" && !(error.Key == "type" && error.Value.EndsWith("should be \"null\"", StringComparison.Ordinal)))
                .Select(error => error.Key == "" && error.Value.Contains("false schema", StringComparison.Ordinal)
                    ? $"{detail.InstanceLocation}: no such field in {detail.SchemaLocation.Fragment.Split('/')[2]}"
                    : $"{detail.InstanceLocation}: {error.Value} ({error.Key} at {detail.SchemaLocation.Fragment})"))
            .Distinct()
            .ToList();
    }

    private static JsonSchema Build(string key)
    {
        var schema = Bundle.Value.DeepClone().AsObject();
        schema["$ref"] = (string?)schema["kinds"]![key];
        schema.Remove("kinds");
        return JsonSchema.FromText(schema.ToJsonString(), new BuildOptions(), new Uri($"https://schemas.invalid/kubernetes/{Uri.EscapeDataString(key)}"));
    }

    private static JsonObject LoadBundle()
    {
        using var stream = typeof(KubernetesSchemas).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The test assembly has no embedded {ResourceName}.");
        var bundle = JsonNode.Parse(stream)!.AsObject();
        foreach (var (_, definition) in bundle["$defs"]!.AsObject())
        {
            CloseObjects(definition);
        }

        return bundle;
    }

    /// <summary>Every object schema that lists its properties and says nothing of others admits no others.</summary>
    private static void CloseObjects(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject schema:
                if (schema["properties"] is JsonObject && !schema.ContainsKey("additionalProperties"))
                {
                    schema["additionalProperties"] = false;
                }

                foreach (var (name, child) in schema.ToList())
                {
                    // Property names are data, not schemas: only descend into the schemas under them.
                    if (name == "properties" && child is JsonObject properties)
                    {
                        foreach (var (_, property) in properties)
                        {
                            CloseObjects(property);
                        }
                    }
                    else if (name is "items" or "additionalProperties" or "oneOf" or "anyOf" or "allOf" or "not")
                    {
                        CloseObjects(child);
                    }
                }

                break;
            case JsonArray schemas:
                foreach (var item in schemas)
                {
                    CloseObjects(item);
                }

                break;
        }
    }
}
