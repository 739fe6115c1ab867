using System.Globalization;
using k8s;
using k8s.Models;

namespace Serving.Deploy.Tests;

/// <summary>A custom resource whose CRD the client library has no model for: kept as a generic YAML tree.</summary>
internal sealed record CustomResource(string ApiVersion, string Kind, Dictionary<object, object> Body)
{
    public string Name => (string)Node(Body, "metadata", "name");

    /// <summary>The value at a path of map keys and list indexes; fails the test when a step is missing.</summary>
    public static object Node(object root, params object[] path)
    {
        var current = root;
        foreach (var step in path)
        {
            current = (current, step) switch
            {
                (Dictionary<object, object> map, string key) when map.TryGetValue(key, out var value) && value is not null => value,
                (List<object> list, int index) when index < list.Count => list[index],
                _ => throw new Xunit.Sdk.XunitException($"missing {string.Join('.', path)} (at {step})"),
            };
        }

        return current;
    }
}

/// <summary>Parses rendered manifests strictly: built-in kinds into the client library's typed models with unknown fields
/// rejected, the CRDs the chart can emit (ServiceMonitor, ScaledObject) as YAML with their required fields checked.</summary>
internal static class Manifests
{
    private static readonly HashSet<string> CustomKinds = ["monitoring.coreos.com/v1/ServiceMonitor", "keda.sh/v1alpha1/ScaledObject"];

    public static List<object> Parse(string yaml)
    {
        var objects = new List<object>();
        foreach (var document in yaml.Split(["\n---\n", "\n---"], StringSplitOptions.None))
        {
            var text = document.StartsWith("---", StringComparison.Ordinal) ? document[3..] : document;
            var tree = KubernetesYaml.Deserialize<Dictionary<object, object>>(text, strict: true);
            if (tree is null || tree.Count == 0)
            {
                continue;
            }

            var apiVersion = (string)CustomResource.Node(tree, "apiVersion");
            var kind = (string)CustomResource.Node(tree, "kind");
            if (CustomKinds.Contains($"{apiVersion}/{kind}"))
            {
                var resource = new CustomResource(apiVersion, kind, tree);
                ValidateCustom(resource);
                objects.Add(resource);
            }
            else
            {
                // strict: a field the Kubernetes API does not define (a typo, a wrong nesting) throws.
                objects.AddRange(KubernetesYaml.LoadAllFromString(text, typeMap: null, strict: true));
            }
        }

        Assert.NotEmpty(objects);
        return objects;
    }

    private static void ValidateCustom(CustomResource resource)
    {
        Assert.False(string.IsNullOrEmpty(resource.Name));
        if (resource.Kind == "ServiceMonitor")
        {
            Assert.IsType<Dictionary<object, object>>(CustomResource.Node(resource.Body, "spec", "selector", "matchLabels"));
            var endpoints = Assert.IsType<List<object>>(CustomResource.Node(resource.Body, "spec", "endpoints"));
            Assert.NotEmpty(endpoints);
            Assert.Equal("http", CustomResource.Node(endpoints[0], "port"));
            Assert.Equal("/metrics", CustomResource.Node(endpoints[0], "path"));
        }
        else
        {
            Assert.False(string.IsNullOrEmpty((string)CustomResource.Node(resource.Body, "spec", "scaleTargetRef", "name")));
            var trigger = CustomResource.Node(resource.Body, "spec", "triggers", 0);
            Assert.Equal("prometheus", CustomResource.Node(trigger, "type"));
            Assert.Contains("serving_engine_requests_waiting", (string)CustomResource.Node(trigger, "metadata", "query"));
            Assert.True(double.TryParse((string)CustomResource.Node(trigger, "metadata", "threshold"), CultureInfo.InvariantCulture, out _));
            Assert.StartsWith("http", (string)CustomResource.Node(trigger, "metadata", "serverAddress"), StringComparison.Ordinal);
        }
    }

    /// <summary>Checks how the server's objects fit together, whoever rendered them; returns the Deployment.</summary>
    public static V1Deployment AssertServingStack(List<object> objects, bool gpu)
    {
        var deployment = Assert.Single(objects.OfType<V1Deployment>());
        var pod = deployment.Spec.Template;
        var container = Assert.Single(pod.Spec.Containers, c => c.Name == "serving");
        var ports = container.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
        Assert.Equal(["grpc", "http"], ports.Keys.Order());

        // Settings reach the server as Serving__* variables from the ConfigMap the container names.
        var configMapName = Assert.Single(container.EnvFrom).ConfigMapRef.Name;
        var settings = Assert.Single(objects.OfType<V1ConfigMap>(), m => m.Metadata.Name == configMapName).Data;
        Assert.Equal("0.0.0.0", settings["Serving__Host"]);
        Assert.Equal(ports["http"].ToString(CultureInfo.InvariantCulture), settings["Serving__Port"]);
        Assert.Equal(ports["grpc"].ToString(CultureInfo.InvariantCulture), settings["Serving__GrpcPort"]);
        var drain = int.Parse(settings["Serving__DrainTimeoutSeconds"], CultureInfo.InvariantCulture);

        // Probes: start-up waits for the model on /ready with minutes of budget, then liveness on /health and
        // readiness on /ready, all on the named HTTP port.
        AssertHttpProbe(container.StartupProbe, "/ready");
        AssertHttpProbe(container.LivenessProbe, "/health");
        AssertHttpProbe(container.ReadinessProbe, "/ready");
        Assert.True(container.StartupProbe.PeriodSeconds * container.StartupProbe.FailureThreshold >= 600,
            "the startup probe allows less than 10 minutes for the model to load");

        // Shutdown: preStop sleeps so endpoints drop the pod first, then the drain; the grace period covers both.
        var preStop = container.Lifecycle.PreStop.Exec.Command;
        Assert.Equal("sleep", preStop[0]);
        var sleep = int.Parse(Assert.Single(preStop.Skip(1)), CultureInfo.InvariantCulture);
        Assert.InRange(sleep, 1, 30);
        Assert.True(pod.Spec.TerminationGracePeriodSeconds >= sleep + drain + 5,
            $"terminationGracePeriodSeconds {pod.Spec.TerminationGracePeriodSeconds} < preStop {sleep} + drain {drain} + 5");

        // Non-root, read-only root filesystem, with /tmp writable.
        Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
        Assert.NotEqual(0, pod.Spec.SecurityContext.RunAsUser);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.Contains("ALL", container.SecurityContext.Capabilities.Drop);
        var volumes = pod.Spec.Volumes.ToDictionary(v => v.Name);
        foreach (var mount in container.VolumeMounts)
        {
            Assert.True(volumes.ContainsKey(mount.Name), $"volume mount {mount.Name} has no volume");
        }

        var tmp = Assert.Single(container.VolumeMounts, m => m.MountPath == "/tmp");
        Assert.NotNull(volumes[tmp.Name].EmptyDir);
        Assert.False(tmp.ReadOnlyProperty ?? false);
        Assert.Contains(container.VolumeMounts, m => m.MountPath == settings["HF_HOME"]);

        var limits = container.Resources.Limits ?? new Dictionary<string, ResourceQuantity>();
        Assert.Equal(gpu, limits.ContainsKey("nvidia.com/gpu"));
        Assert.True(container.Resources.Requests.ContainsKey("cpu"));
        Assert.True(limits.ContainsKey("memory"));

        // The Service routes both named ports to pods the Deployment makes; so does the PodDisruptionBudget's selector.
        var podLabels = pod.Metadata.Labels;
        var service = Assert.Single(objects.OfType<V1Service>());
        AssertSelects(service.Spec.Selector, podLabels);
        Assert.Equal(["grpc", "http"], service.Spec.Ports.Select(p => p.TargetPort.Value).Order());
        Assert.Equal("kubernetes.io/h2c", Assert.Single(service.Spec.Ports, p => p.Name == "grpc").AppProtocol);
        AssertSelects(deployment.Spec.Selector.MatchLabels, podLabels);
        AssertSelects(Assert.Single(objects.OfType<V1PodDisruptionBudget>()).Spec.Selector.MatchLabels, podLabels);

        if (pod.Spec.ServiceAccountName is { } account && objects.OfType<V1ServiceAccount>().Any())
        {
            Assert.Single(objects.OfType<V1ServiceAccount>(), a => a.Metadata.Name == account);
        }

        foreach (var hpa in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            Assert.Equal(deployment.Metadata.Name, hpa.Spec.ScaleTargetRef.Name);
            Assert.Equal("Deployment", hpa.Spec.ScaleTargetRef.Kind);
            Assert.Null(deployment.Spec.Replicas);
        }

        foreach (var resource in objects.OfType<CustomResource>())
        {
            if (resource.Kind == "ScaledObject")
            {
                Assert.Equal(deployment.Metadata.Name, CustomResource.Node(resource.Body, "spec", "scaleTargetRef", "name"));
                Assert.Null(deployment.Spec.Replicas);
            }
            else
            {
                var selector = (Dictionary<object, object>)CustomResource.Node(resource.Body, "spec", "selector", "matchLabels");
                AssertSelects(selector.ToDictionary(p => (string)p.Key, p => (string)p.Value), service.Metadata.Labels);
            }
        }

        return deployment;
    }

    private static void AssertHttpProbe(V1Probe probe, string path)
    {
        Assert.NotNull(probe);
        Assert.Equal(path, probe.HttpGet.Path);
        Assert.Equal("http", probe.HttpGet.Port.Value);
        Assert.True(probe.TimeoutSeconds >= 1);
    }

    private static void AssertSelects(IDictionary<string, string> selector, IDictionary<string, string> labels)
    {
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
        {
            Assert.True(labels.TryGetValue(key, out var actual) && actual == value, $"selector {key}={value} does not match {string.Join(',', labels)}");
        }
    }
}
