using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace TextClassification.Deployment.Tests.Kubernetes;

/// <summary>What the schemas cannot say: that the objects fit each other and the service they run.</summary>
public sealed class ManifestConsistencyTests
{
    private static readonly IReadOnlyList<Manifest> Manifests = Manifest.LoadAll();

    private static IEnumerable<Manifest> Deployments => Manifests.Where(manifest => manifest.Kind == "Deployment");

    private static IEnumerable<Manifest> Workers => Deployments.Where(deployment => Setting(deployment, "Jobs__Role") == "Worker");

    [Fact]
    public void Every_deployment_probes_health_live_for_liveness_and_health_ready_for_readiness_on_its_http_port()
    {
        Assert.NotEmpty(Deployments);
        foreach (var deployment in Deployments)
        {
            foreach (var container in deployment.Containers)
            {
                var ports = (container["ports"]?.AsArray() ?? []).Select(port => port!.AsObject()).ToList();
                Assert.Contains(ports, port => (string?)port["name"] == "http" && (long)port["containerPort"]! == 8080);

                Assert.Equal("/health/live", (string?)container["livenessProbe"]?["httpGet"]?["path"]);
                Assert.Equal("/health/ready", (string?)container["readinessProbe"]?["httpGet"]?["path"]);
                Assert.Equal("http", (string?)container["livenessProbe"]!["httpGet"]!["port"]);
                Assert.Equal("http", (string?)container["readinessProbe"]!["httpGet"]!["port"]);
            }
        }
    }

    [Fact]
    public void Every_worker_is_given_longer_to_stop_than_it_waits_for_its_job_to_checkpoint()
    {
        var settings = ServiceSettings.Read();
        int defaultTimeout = settings.IntegerDefault("Jobs", "ShutdownTimeoutSeconds");

        Assert.NotEmpty(Workers);
        foreach (var worker in Workers)
        {
            string? configured = Setting(worker, "Jobs__ShutdownTimeoutSeconds");
            int shutdownTimeout = configured is null ? defaultTimeout : int.Parse(configured, System.Globalization.CultureInfo.InvariantCulture);
            long gracePeriod = (long?)worker.PodSpec["terminationGracePeriodSeconds"] ?? 30;

            // Some seconds beyond the job's own budget for the host to stop everything else and the process to exit.
            Assert.True(
                gracePeriod >= shutdownTimeout + 15,
                $"{worker}: terminationGracePeriodSeconds {gracePeriod} leaves no margin over Jobs:ShutdownTimeoutSeconds {shutdownTimeout}.");
        }
    }

    [Fact]
    public void Every_environment_variable_is_a_setting_the_service_reads_with_a_value_it_accepts()
    {
        var settings = ServiceSettings.Read();
        var problems = new List<string>();
        foreach (var configMap in Manifests.Where(manifest => manifest.Kind == "ConfigMap"))
        {
            foreach (var (name, value) in configMap.Body["data"]?.AsObject() ?? [])
            {
                problems.AddRange(Problem(settings, configMap, name, (string?)value));
            }
        }

        foreach (var deployment in Deployments)
        {
            foreach (var variable in deployment.Containers.SelectMany(container => container["env"]?.AsArray() ?? []))
            {
                problems.AddRange(Problem(settings, deployment, (string)variable!["name"]!, (string?)variable["value"]));
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_secret_and_config_map_a_pod_refers_to_exists_with_the_keys_it_names()
    {
        var secrets = Manifests.Where(manifest => manifest.Kind == "Secret")
            .ToDictionary(secret => secret.Name, secret => Keys(secret, "data").Concat(Keys(secret, "stringData")).ToHashSet());
        var configMaps = Manifests.Where(manifest => manifest.Kind == "ConfigMap").Select(configMap => configMap.Name).ToHashSet();

        foreach (var deployment in Deployments)
        {
            foreach (var container in deployment.Containers)
            {
                foreach (var variable in container["env"]?.AsArray() ?? [])
                {
                    if (variable!["valueFrom"]?["secretKeyRef"] is JsonObject reference)
                    {
                        string secret = (string)reference["name"]!;
                        Assert.True(secrets.ContainsKey(secret), $"{deployment}: no Secret {secret}.");
                        Assert.True(secrets[secret].Contains((string)reference["key"]!), $"{deployment}: Secret {secret} has no key {reference["key"]}.");
                    }
                }

                foreach (var source in container["envFrom"]?.AsArray() ?? [])
                {
                    if (source!["configMapRef"]?["name"] is JsonNode name)
                    {
                        Assert.Contains((string)name!, configMaps);
                    }
                }
            }
        }
    }

    [Fact]
    public void The_secret_holds_the_connection_string_the_bootstrap_key_and_the_encryption_key_and_the_pods_read_them()
    {
        var bySetting = Deployments
            .SelectMany(deployment => deployment.Containers)
            .SelectMany(container => container["env"]?.AsArray() ?? [])
            .Where(variable => variable!["valueFrom"]?["secretKeyRef"] is not null)
            .Select(variable => (string)variable!["name"]!)
            .ToHashSet();

        Assert.Superset(
            new HashSet<string> { "Persistence__ConnectionString", "Security__BootstrapAdminKey", "Persistence__EncryptionKey" },
            bySetting);
        Assert.DoesNotContain(
            Deployments.SelectMany(deployment => deployment.Containers).SelectMany(container => container["env"]?.AsArray() ?? []),
            variable => ((string)variable!["name"]!).EndsWith("Key", StringComparison.Ordinal) && variable["value"] is not null);
    }

    [Fact]
    public void Only_the_bootstrap_key_may_be_missing_from_the_secret_so_that_it_can_be_removed_after_the_first_start()
    {
        var references = Deployments
            .SelectMany(deployment => deployment.Containers)
            .SelectMany(container => container["env"]?.AsArray() ?? [])
            .Where(variable => variable!["valueFrom"]?["secretKeyRef"] is not null)
            .Select(variable => (Name: (string)variable!["name"]!, Optional: (bool?)variable["valueFrom"]!["secretKeyRef"]!["optional"] ?? false))
            .ToList();

        // docs/deploy.md tells operators to drop bootstrap-admin-key once a named admin key exists; a required
        // reference to a missing key would stop every API pod from starting. A missing connection string or
        // encryption key must stop them.
        Assert.Contains(references, reference => reference.Name == "Security__BootstrapAdminKey");
        Assert.All(references, reference => Assert.Equal(reference.Name == "Security__BootstrapAdminKey", reference.Optional));
    }

    [Fact]
    public void Services_budgets_and_the_autoscaler_select_pods_that_a_deployment_makes()
    {
        var podLabels = Deployments.ToDictionary(deployment => deployment.Name, deployment => deployment.PodSpecLabels());
        foreach (var deployment in Deployments)
        {
            var selector = deployment.Body["spec"]!["selector"]!["matchLabels"]!.AsObject();
            Assert.True(Matches(selector, podLabels[deployment.Name]), $"{deployment}: its selector does not match its own pods.");
        }

        foreach (var service in Manifests.Where(manifest => manifest.Kind == "Service"))
        {
            var selector = service.Body["spec"]!["selector"]!.AsObject();
            Assert.True(podLabels.Values.Any(labels => Matches(selector, labels)), $"{service} selects no deployment's pods.");
        }

        foreach (var budget in Manifests.Where(manifest => manifest.Kind == "PodDisruptionBudget"))
        {
            var selector = budget.Body["spec"]!["selector"]!["matchLabels"]!.AsObject();
            Assert.True(podLabels.Values.Any(labels => Matches(selector, labels)), $"{budget} selects no deployment's pods.");
        }

        foreach (var autoscaler in Manifests.Where(manifest => manifest.Kind == "HorizontalPodAutoscaler"))
        {
            var target = autoscaler.Body["spec"]!["scaleTargetRef"]!;
            Assert.Equal("Deployment", (string?)target["kind"]);
            Assert.Contains((string)target["name"]!, podLabels.Keys);
            var scaled = Deployments.Single(deployment => deployment.Name == (string?)target["name"]);
            Assert.All(scaled.Containers, container => Assert.NotNull(container["resources"]?["requests"]?["cpu"]));
        }
    }

    [Fact]
    public void The_api_is_a_service_with_an_autoscaler_and_a_budget_that_keeps_one_pod()
    {
        var api = Deployments.Single(deployment => Setting(deployment, "Jobs__Role") == "Api");

        Assert.Contains(Manifests, manifest => manifest.Kind == "HorizontalPodAutoscaler" && (string?)manifest.Body["spec"]!["scaleTargetRef"]!["name"] == api.Name);
        var budget = Manifests.Single(manifest => manifest.Kind == "PodDisruptionBudget" && Matches(manifest.Body["spec"]!["selector"]!["matchLabels"]!.AsObject(), api.PodSpecLabels()));
        Assert.True((long?)budget.Body["spec"]!["minAvailable"] >= 1);
    }

    [Fact]
    public void Every_pod_shares_one_read_write_many_artifacts_volume_and_runs_as_the_image_user()
    {
        var claims = Manifests.Where(manifest => manifest.Kind == "PersistentVolumeClaim").ToList();
        var artifacts = Assert.Single(claims);
        Assert.Contains("ReadWriteMany", artifacts.Body["spec"]!["accessModes"]!.AsArray().Select(mode => (string?)mode));

        foreach (var deployment in Deployments)
        {
            var volumes = deployment.PodSpec["volumes"]!.AsArray().Select(volume => volume!.AsObject()).ToList();
            var shared = Assert.Single(volumes, volume => (string?)volume["persistentVolumeClaim"]?["claimName"] == artifacts.Name);
            foreach (var container in deployment.Containers)
            {
                Assert.Contains(
                    container["volumeMounts"]!.AsArray(),
                    mount => (string?)mount!["name"] == (string?)shared["name"] && (string?)mount["mountPath"] == "/data/artifacts");
            }

            // The image's APP_UID; fsGroup makes the shared volume writable by it.
            var security = deployment.PodSpec["securityContext"]!;
            Assert.True((bool?)security["runAsNonRoot"]);
            Assert.Equal(1654, (long?)security["runAsUser"]);
            Assert.Equal(1654, (long?)security["fsGroup"]);
        }
    }

    [Fact]
    public void Every_container_states_its_resources()
    {
        foreach (var container in Deployments.SelectMany(deployment => deployment.Containers))
        {
            Assert.NotNull(container["resources"]?["requests"]?["cpu"]);
            Assert.NotNull(container["resources"]?["requests"]?["memory"]);
            Assert.NotNull(container["resources"]?["limits"]?["memory"]);
        }
    }

    [Fact]
    public void The_gpu_worker_asks_for_one_nvidia_gpu_and_fails_rather_than_train_on_the_cpu()
    {
        var gpuWorker = Assert.Single(Workers, worker => worker.Containers.Any(container => container["resources"]?["limits"]?["nvidia.com/gpu"] is not null));
        var container = gpuWorker.Containers.Single();

        Assert.Equal("1", (string?)container["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal("1", (string?)container["resources"]!["requests"]!["nvidia.com/gpu"]);
        Assert.Equal("Cuda", Setting(gpuWorker, "Training__Device"));
        Assert.EndsWith("-cuda", (string)container["image"]!, StringComparison.Ordinal);
        Assert.Contains(gpuWorker.PodSpec["tolerations"]!.AsArray(), toleration => (string?)toleration!["key"] == "nvidia.com/gpu");
    }

    [Fact]
    public void Every_kustomization_lists_each_manifest_beside_it_and_names_only_files_that_exist()
    {
        var kustomizations = Directory.EnumerateFiles(Manifest.Folder, Manifest.KustomizationFile, SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(kustomizations);
        foreach (string kustomization in kustomizations)
        {
            string folder = Path.GetDirectoryName(kustomization)!;
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(kustomization)));
            var resources = ((YamlSequenceNode)((YamlMappingNode)stream.Documents[0].RootNode)["resources"])
                .Select(node => ((YamlScalarNode)node).Value!)
                .ToList();

            foreach (string resource in resources)
            {
                string path = Path.GetFullPath(Path.Combine(folder, resource));
                Assert.True(File.Exists(path) || File.Exists(Path.Combine(path, Manifest.KustomizationFile)), $"{kustomization} lists {resource}, which does not exist.");
            }

            var listed = resources.Select(resource => Path.GetFullPath(Path.Combine(folder, resource))).ToHashSet();
            foreach (string manifest in Directory.EnumerateFiles(folder, "*.yaml").Where(file => Path.GetFileName(file) != Manifest.KustomizationFile))
            {
                Assert.True(listed.Contains(Path.GetFullPath(manifest)), $"{kustomization} does not list {Path.GetFileName(manifest)}.");
            }
        }
    }

    private static IEnumerable<string> Problem(ServiceSettings settings, Manifest manifest, string name, string? value) =>
        settings.Problem(name, value) is { } problem ? [$"{manifest}: {problem}"] : [];

    /// <summary>The value a deployment's pods get for an environment variable: their own env first, then the ConfigMaps they read.</summary>
    private static string? Setting(Manifest deployment, string name)
    {
        foreach (var container in deployment.Containers)
        {
            var own = (container["env"]?.AsArray() ?? []).FirstOrDefault(variable => (string?)variable!["name"] == name);
            if (own is not null)
            {
                return (string?)own["value"];
            }

            foreach (var source in container["envFrom"]?.AsArray() ?? [])
            {
                string? configMap = (string?)source!["configMapRef"]?["name"];
                var data = Manifests.FirstOrDefault(manifest => manifest.Kind == "ConfigMap" && manifest.Name == configMap)?.Body["data"];
                if (data?[name] is JsonNode value)
                {
                    return (string?)value;
                }
            }
        }

        return null;
    }

    private static IEnumerable<string> Keys(Manifest manifest, string field) =>
        (manifest.Body[field]?.AsObject() ?? []).Select(entry => entry.Key);

    private static bool Matches(JsonObject selector, JsonObject labels) =>
        selector.Count > 0 && selector.All(entry => (string?)labels[entry.Key] == (string?)entry.Value);
}
