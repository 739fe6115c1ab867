using k8s.Models;

namespace Serving.Deploy.Tests;

/// <summary>Renders the kustomize manifests and the Helm chart offline and parses every object strictly.</summary>
public sealed class KubernetesTests
{
    private static readonly string Chart = DeployTools.Path("deploy", "helm", "serving");

    [Fact]
    public async Task KustomizeBase_RendersAFittingCpuStack()
    {
        var objects = Manifests.Parse(await KustomizeAsync("base"));
        var deployment = Manifests.AssertServingStack(objects, gpu: false);
        Assert.Equal("serving:0.1.0", deployment.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal(string.Empty, Assert.Single(objects.OfType<V1ConfigMap>()).Data["Serving__Model"]);
    }

    [Fact]
    public async Task KustomizeGpuOverlay_AddsTheGpuTheCudaImageAndTheModelVolume()
    {
        var objects = Manifests.Parse(await KustomizeAsync("overlays", "gpu"));
        var deployment = Manifests.AssertServingStack(objects, gpu: true);
        var container = deployment.Spec.Template.Spec.Containers[0];
        Assert.Equal("serving:0.1.0-cuda", container.Image);
        var model = Assert.Single(objects.OfType<V1ConfigMap>()).Data["Serving__Model"];
        var mount = Assert.Single(container.VolumeMounts, m => model.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
        Assert.True(mount.ReadOnlyProperty);
    }

    [Fact]
    public async Task HelmLint_DefaultAndCiValues_PassStrictly()
    {
        var helm = await DeployTools.HelmAsync();
        await DeployTools.RunCheckedAsync(helm, "lint", "--strict", Chart);
        foreach (var values in Directory.GetFiles(Path.Combine(Chart, "ci"), "*-values.yaml"))
        {
            await DeployTools.RunCheckedAsync(helm, "lint", "--strict", Chart, "--values", values);
        }
    }

    [Fact]
    public async Task HelmTemplate_DefaultValues_RendersACpuStackOnTheDemoModel()
    {
        var objects = Manifests.Parse(await TemplateAsync());
        var deployment = Manifests.AssertServingStack(objects, gpu: false);
        Assert.Equal(1, deployment.Spec.Replicas);
        Assert.Equal(45, deployment.Spec.Template.Spec.TerminationGracePeriodSeconds);
        Assert.Equal(string.Empty, objects.OfType<V1ConfigMap>().Single().Data["Serving__Model"]);
        Assert.DoesNotContain(objects, o => o is CustomResource or V2HorizontalPodAutoscaler);
    }

    [Fact]
    public async Task HelmTemplate_GpuKedaValues_AddsGpuScaledObjectServiceMonitorAndDashboard()
    {
        var objects = Manifests.Parse(await TemplateAsync("--values", Path.Combine(Chart, "ci", "gpu-keda-values.yaml")));
        var deployment = Manifests.AssertServingStack(objects, gpu: true);
        var spec = deployment.Spec.Template.Spec;
        Assert.Equal("nvidia", spec.RuntimeClassName);
        // preStop 5 + drain 120 + margin 10.
        Assert.Equal(135, spec.TerminationGracePeriodSeconds);
        var env = spec.Containers[0].Env.ToDictionary(e => e.Name);
        Assert.Equal("primary", env["Serving__ApiKeys__0"].ValueFrom.SecretKeyRef.Key);
        Assert.Equal("secondary", env["Serving__ApiKeys__1"].ValueFrom.SecretKeyRef.Key);
        Assert.Equal("hf-token", env["HF_TOKEN"].ValueFrom.SecretKeyRef.Name);

        var settings = objects.OfType<V1ConfigMap>().Single(m => m.Data.ContainsKey("Serving__Model")).Data;
        Assert.Equal("hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf", settings["Serving__Model"]);
        Assert.Equal("128", settings["Serving__MaxWaitingRequests"]);
        Assert.Equal("http://otel-collector.monitoring.svc:4317", settings["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("hf-cache", spec.Volumes.Single(v => v.Name == "hf-cache").PersistentVolumeClaim.ClaimName);

        Assert.Equal(["ScaledObject", "ServiceMonitor"], objects.OfType<CustomResource>().Select(r => r.Kind).Order());
        var dashboard = objects.OfType<V1ConfigMap>().Single(m => m.Data.ContainsKey("serving-dashboard.json"));
        Assert.Equal("1", dashboard.Metadata.Labels["grafana_dashboard"]);
        Assert.Equal(
            File.ReadAllText(DeployTools.Path("deploy", "grafana", "serving-dashboard.json")).TrimEnd(),
            dashboard.Data["serving-dashboard.json"].TrimEnd());
    }

    [Fact]
    public async Task HelmTemplate_HpaPvcValues_ScalesOnCpuAndWaitingRequestsAndMountsTheClaim()
    {
        var objects = Manifests.Parse(await TemplateAsync("--values", Path.Combine(Chart, "ci", "hpa-pvc-values.yaml")));
        var deployment = Manifests.AssertServingStack(objects, gpu: false);
        var hpa = Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
        Assert.Equal(["Pods", "Resource"], hpa.Spec.Metrics.Select(m => m.Type).Order());
        Assert.Equal("serving_engine_requests_waiting", hpa.Spec.Metrics.Single(m => m.Type == "Pods").Pods.Metric.Name);
        Assert.Equal("/models/llama/model.gguf", objects.OfType<V1ConfigMap>().Single().Data["Serving__Model"]);
        var models = deployment.Spec.Template.Spec.Volumes.Single(v => v.Name == "models");
        Assert.Equal("models", models.PersistentVolumeClaim.ClaimName);
        Assert.True(deployment.Spec.Template.Spec.Containers[0].VolumeMounts.Single(m => m.Name == "models").ReadOnlyProperty);
    }

    [Theory]
    [InlineData("unknownKey=1")]
    [InlineData("serving.unknownSetting=1")]
    [InlineData("serving.logFormat=xml")]
    [InlineData("model.source=s3")]
    [InlineData("serving.httpPort=0")]
    public async Task HelmTemplate_ValuesOutsideTheSchema_AreRejected(string setting)
    {
        var (code, _, stderr) = await DeployTools.RunAsync(DeployTools.RepoRoot, await DeployTools.HelmAsync(), "template", "r", Chart, "--set", setting);
        Assert.True(code != 0, $"--set {setting} rendered");
        Assert.Contains("schema", stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("model.source=huggingFace", "model.huggingFace.repo is required")]
    [InlineData("model.source=pvc", "model.path is required")]
    [InlineData("autoscaling.enabled=true,keda.enabled=true", "enable one of them")]
    public async Task HelmTemplate_IncompleteChoices_FailWithTheirMessage(string settings, string message)
    {
        var (code, _, stderr) = await DeployTools.RunAsync(DeployTools.RepoRoot, await DeployTools.HelmAsync(), "template", "r", Chart, "--set", settings);
        Assert.True(code != 0, $"--set {settings} rendered");
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    private static async Task<string> KustomizeAsync(params string[] overlay) =>
        await DeployTools.RunCheckedAsync(await DeployTools.KubectlAsync(), "kustomize", DeployTools.Path(["deploy", "kustomize", .. overlay]));

    private static async Task<string> TemplateAsync(params string[] args) =>
        await DeployTools.RunCheckedAsync(await DeployTools.HelmAsync(), ["template", "r", Chart, .. args]);
}
