using System.Text.Json.Nodes;

namespace TextClassification.Deployment.Tests.Kubernetes;

public sealed class ManifestSchemaTests
{
    [Fact]
    public void Every_manifest_under_deploy_kubernetes_is_valid_against_the_schema_of_its_kind()
    {
        var manifests = Manifest.LoadAll();
        Assert.NotEmpty(manifests);

        var faults = manifests
            .SelectMany(manifest => KubernetesSchemas.Validate(manifest.Body).Select(fault => $"{manifest}: {fault}"))
            .ToList();

        Assert.True(faults.Count == 0, string.Join(Environment.NewLine, faults));
    }

    [Fact]
    public void The_manifests_hold_every_kind_the_issue_asks_for()
    {
        var kinds = Manifest.LoadAll().Select(manifest => manifest.ApiVersionAndKind).ToHashSet();

        Assert.Superset(
            new HashSet<string>
            {
                "apps/v1/Deployment", "v1/Service", "autoscaling/v2/HorizontalPodAutoscaler", "policy/v1/PodDisruptionBudget",
                "v1/PersistentVolumeClaim", "v1/Secret", "v1/ConfigMap",
            },
            kinds);
    }

    [Fact]
    public void A_field_of_the_wrong_type_is_refused()
    {
        var deployment = Deployment("api-deployment.yaml");
        deployment["spec"]!["replicas"] = "two";

        var faults = KubernetesSchemas.Validate(deployment);

        Assert.Contains(faults, fault => fault.StartsWith("/spec/replicas:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_quoted_number_is_a_string_and_refused_where_an_integer_belongs()
    {
        string yaml = File.ReadAllText(Path.Combine(Manifest.Folder, "worker-deployment.yaml"))
            .Replace("terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: \"60\"", StringComparison.Ordinal);
        var deployment = YamlToJson.ReadDocuments(yaml).Single()!.AsObject();

        var faults = KubernetesSchemas.Validate(deployment);

        Assert.Contains(faults, fault => fault.StartsWith("/spec/template/spec/terminationGracePeriodSeconds:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_required_field_is_refused()
    {
        var deployment = Deployment("api-deployment.yaml");
        deployment["spec"]!.AsObject().Remove("selector");
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject().Remove("name");

        var faults = KubernetesSchemas.Validate(deployment);

        Assert.Contains(faults, fault => fault.StartsWith("/spec:", StringComparison.Ordinal) && fault.Contains("selector", StringComparison.Ordinal));
        Assert.Contains(faults, fault => fault.StartsWith("/spec/template/spec/containers/0:", StringComparison.Ordinal) && fault.Contains("name", StringComparison.Ordinal));
    }

    [Fact]
    public void A_misspelt_field_is_refused_rather_than_dropped()
    {
        var deployment = Deployment("api-deployment.yaml");
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        container["livenesProbe"] = container["livenessProbe"]!.DeepClone();
        container.Remove("livenessProbe");

        var faults = KubernetesSchemas.Validate(deployment);

        Assert.Contains(faults, fault => fault.Contains("livenesProbe", StringComparison.Ordinal));
    }

    [Fact]
    public void A_kind_at_an_api_version_there_is_no_schema_for_is_refused()
    {
        var autoscaler = Manifest.Load(Path.Combine(Manifest.Folder, "api-hpa.yaml")).Single().Body;
        autoscaler["apiVersion"] = "autoscaling/v2beta1";

        var faults = KubernetesSchemas.Validate(autoscaler);

        Assert.Contains(faults, fault => fault.StartsWith("no schema for apiVersion 'autoscaling/v2beta1'", StringComparison.Ordinal));
    }

    [Fact]
    public void Yaml_scalars_are_typed_as_kubernetes_reads_them()
    {
        var document = YamlToJson.ReadDocuments("a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: 2Gi\nf: ~\ng: 1.5\n").Single()!.AsObject();

        Assert.Equal(1, (long)document["a"]!);
        Assert.Equal("1", (string)document["b"]!);
        Assert.True((bool)document["c"]!);
        Assert.Equal("true", (string)document["d"]!);
        Assert.Equal("2Gi", (string)document["e"]!);
        Assert.Null(document["f"]);
        Assert.Equal(1.5, (double)document["g"]!);
    }

    [Fact]
    public void A_duplicate_key_is_refused()
    {
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => YamlToJson.ReadDocuments("spec:\n  replicas: 1\n  replicas: 2\n"));
    }

    private static JsonObject Deployment(string file) =>
        Manifest.Load(Path.Combine(Manifest.Folder, file)).Single(manifest => manifest.Kind == "Deployment").Body;
}
