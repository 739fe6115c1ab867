using System.Text.Json;
using Serving.Server.Tests.Api;
using Serving.Server.Tests.HuggingFace;

namespace Serving.Server.Tests.Operations;

/// <summary><c>serving serve --model hf:owner/repo/file</c> end to end against a stand-in Hub on loopback (the real
/// Hub is never contacted here): the file is downloaded into the cache once, served, and found there offline.</summary>
public sealed class HuggingFaceServeTests
{
    [Fact]
    public async Task HfReference_DownloadsOnce_ServesTheModel_AndStartsOfflineFromTheCache()
    {
        await using var hub = await FakeHub.StartAsync(TestContext.Current.CancellationToken);
        var gguf = await File.ReadAllBytesAsync(Path.Combine(Fixtures.Stories260K, "stories260K.gguf"), TestContext.Current.CancellationToken);
        hub.AddRepo("karpathy/tinyllamas", "0123456789abcdef0123456789abcdef01234567", ("stories260K.gguf", gguf, true));
        var cache = Directory.CreateTempSubdirectory("serving-hf-");
        try
        {
            var environment = new Dictionary<string, string> { ["HF_ENDPOINT"] = hub.Endpoint.ToString(), ["HF_HUB_CACHE"] = cache.FullName };
            string[] args = ["--model", "hf:karpathy/tinyllamas/stories260K.gguf", "--served-model-name", "stories"];
            using (var server = await ServerProcess.StartAsync(args, environment))
            {
                var body = await Sse.PostJsonAsync(server.Http, "/v1/completions", """{"prompt":"","max_tokens":200,"temperature":0}""");
                Assert.Equal(Fixtures.Reference200, body.GetProperty("choices")[0].GetProperty("text").GetString());
            }

            Assert.Single(hub.BodyRequests, r => r.Path.EndsWith("stories260K.gguf", StringComparison.Ordinal));
            environment["HF_HUB_OFFLINE"] = "1";
            using (var offline = await ServerProcess.StartAsync(args, environment))
            {
                var models = JsonDocument.Parse(await offline.Http.GetStringAsync("/v1/models", TestContext.Current.CancellationToken)).RootElement;
                Assert.Equal("stories", models.GetProperty("data")[0].GetProperty("id").GetString());
            }

            Assert.Single(hub.BodyRequests, r => r.Path.EndsWith("stories260K.gguf", StringComparison.Ordinal));
        }
        finally
        {
            cache.Delete(recursive: true);
        }
    }
}
