using System.Text.Json.Nodes;
using TextClassification.TestSupport;

namespace TextClassification.Deployment.Tests.Kubernetes;

/// <summary>One Kubernetes object from a file under <c>deploy/kubernetes</c>, as JSON.</summary>
internal sealed record Manifest(string SourceFile, int Document, JsonObject Body)
{
    /// <summary>The folder the manifests live in.</summary>
    public static string Folder => Path.Combine(RepositoryPaths.Root, "deploy", "kubernetes");

    public string ApiVersion => (string?)Body["apiVersion"] ?? "";

    public string Kind => (string?)Body["kind"] ?? "";

    public string Name => (string?)Body["metadata"]?["name"] ?? "";

    /// <summary>apiVersion/kind, the key of the schema that applies.</summary>
    public string ApiVersionAndKind => $"{ApiVersion}/{Kind}";

    /// <summary>The pod spec of a Deployment or Job.</summary>
    public JsonObject PodSpec => Body["spec"]?["template"]?["spec"]?.AsObject()
        ?? throw new InvalidOperationException($"{this} has no spec.template.spec.");

    /// <summary>The labels a Deployment puts on its pods.</summary>
    public JsonObject PodSpecLabels() => Body["spec"]?["template"]?["metadata"]?["labels"]?.AsObject() ?? [];

    public IEnumerable<JsonObject> Containers =>
        (PodSpec["containers"]?.AsArray() ?? []).Concat(PodSpec["initContainers"]?.AsArray() ?? []).Select(c => c!.AsObject());

    /// <summary>Every manifest under <c>deploy/kubernetes</c>, overlays included; kustomization files are not objects.</summary>
    public static IReadOnlyList<Manifest> LoadAll() =>
        Directory.EnumerateFiles(Folder, "*.yaml", SearchOption.AllDirectories)
            .Where(path => Path.GetFileName(path) != KustomizationFile)
            .Order(StringComparer.Ordinal)
            .SelectMany(Load)
            .ToList();

    public static IEnumerable<Manifest> Load(string path)
    {
        string relative = Path.GetRelativePath(RepositoryPaths.Root, path);
        var documents = YamlToJson.ReadDocuments(File.ReadAllText(path));
        for (int i = 0; i < documents.Count; i++)
        {
            if (documents[i] is JsonObject body)
            {
                yield return new Manifest(relative, i, body);
            }
        }
    }

    public const string KustomizationFile = "kustomization.yaml";

    public override string ToString() => $"{Kind} {Name} ({SourceFile}, document {Document + 1})";
}
