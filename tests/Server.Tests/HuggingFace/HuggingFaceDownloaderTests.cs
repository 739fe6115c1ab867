using System.Text;
using Microsoft.Extensions.Logging;
using Serving.Server.Models.HuggingFace;

namespace Serving.Server.Tests.HuggingFace;

public sealed class HuggingFaceDownloaderTests : IAsyncLifetime
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private const int SafetensorsSize = 3 * 1024 * 1024 + 123;
    private const int Cut = 1_000_000;

    private static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\":\"llama\",\"hidden_size\":8}\n");
    private static readonly byte[] Tokenizer = Encoding.UTF8.GetBytes("{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}\n");
    private static readonly byte[] Safetensors = Bytes(SafetensorsSize, 1);
    private static readonly byte[] Gguf = Bytes(200_000, 2);

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"hf-tests-{Guid.NewGuid():N}");
    private readonly ListLogger _logger = new();
    private readonly HttpClient _http = HuggingFaceHubClient.CreateHttpClient();
    private FakeHub _hub = null!;

    private string Cache => Path.Combine(_root, "hub");

    private string RepoDir => Path.Combine(Cache, "models--acme--tiny");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _hub = await FakeHub.StartAsync(Ct);
        _hub.AddRepo(
            "acme/tiny",
            Commit,
            ("config.json", Config, false),
            ("tokenizer.json", Tokenizer, false),
            ("model.safetensors", Safetensors, true),
            ("pytorch_model.bin", Bytes(1000, 3), true),
            ("onnx/model.onnx", Bytes(1000, 4), true),
            ("README.md", Encoding.UTF8.GetBytes("# tiny\n"), false),
            ("tiny-Q4.gguf", Gguf, true),
            ("gguf/nested/tiny-Q8.gguf", Gguf, true));
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task WholeRepo_LandsInSnapshotWithHubLayout()
    {
        var path = await Downloader().ResolveAsync("hf:acme/tiny", Ct);

        Assert.Equal(Path.Combine(RepoDir, "snapshots", Commit), path);
        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json"], Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Config, File.ReadAllBytes(Path.Combine(path, "config.json")));
        Assert.Equal(Tokenizer, File.ReadAllBytes(Path.Combine(path, "tokenizer.json")));
        Assert.Equal(Safetensors, File.ReadAllBytes(Path.Combine(path, "model.safetensors")));
        var lfsEtag = new FakeFile(Safetensors, true).Etag;
        Assert.Equal($"../../blobs/{lfsEtag}", new FileInfo(Path.Combine(path, "model.safetensors")).LinkTarget);
        Assert.Equal(
            new[] { lfsEtag, new FakeFile(Config, false).Etag, new FakeFile(Tokenizer, false).Etag }.Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        Assert.DoesNotContain(_hub.Requests, r => r.Path.Contains(".bin", StringComparison.Ordinal) || r.Path.Contains("onnx", StringComparison.Ordinal) || r.Path.Contains("README", StringComparison.Ordinal));
        Assert.Contains(_logger.Lines, l => l.Level == LogLevel.Information && l.Message.Contains("Downloading model.safetensors", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("tiny-Q4.gguf")]
    [InlineData("gguf/nested/tiny-Q8.gguf")]
    public async Task SingleFile_ReturnsTheFileInTheSnapshot(string file)
    {
        var path = await Downloader().ResolveAsync($"hf:acme/tiny/{file}", Ct);

        Assert.Equal(Path.Combine(RepoDir, "snapshots", Commit, file), path);
        Assert.Equal(Gguf, File.ReadAllBytes(path));
        Assert.Equal(Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        Assert.Single(Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs")));
    }

    [Fact]
    public async Task SecondResolve_OfWholeRepo_DownloadsNothing()
    {
        var first = await Downloader().ResolveAsync("hf:acme/tiny", Ct);
        _hub.Requests.Clear();

        var second = await Downloader().ResolveAsync("hf:acme/tiny", Ct);

        Assert.Equal(first, second);
        Assert.Empty(_hub.BodyRequests);
        Assert.DoesNotContain(_hub.Requests, r => r.Method == "HEAD");
    }

    [Fact]
    public async Task SecondResolve_OfOneFile_AsksOnlyForMetadata()
    {
        var first = await Downloader().ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct);
        _hub.Requests.Clear();

        var second = await Downloader().ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct);

        Assert.Equal(first, second);
        Assert.Empty(_hub.BodyRequests);
        Assert.Single(_hub.Requests, r => r.Method == "HEAD");
    }

    [Fact]
    public async Task SameBlobUnderANewCommit_IsLinkedNotDownloadedAgain()
    {
        await Downloader().ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct);
        const string NewCommit = "fedcba9876543210fedcba9876543210fedcba98";
        _hub.AddRepo("acme/tiny", NewCommit, ("tiny-Q4.gguf", Gguf, true));
        _hub.Requests.Clear();

        var path = await Downloader().ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct);

        Assert.Equal(Path.Combine(RepoDir, "snapshots", NewCommit, "tiny-Q4.gguf"), path);
        Assert.Equal(Gguf, File.ReadAllBytes(path));
        Assert.Empty(_hub.BodyRequests);
        Assert.Equal(NewCommit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
    }

    [Theory]
    [InlineData("hf:acme/old-tiny/tiny-Q4.gguf")]
    [InlineData("hf:acme/old-tiny")]
    public async Task RenamedRepo_FollowsTheHubsRelativeRedirect(string reference)
    {
        _hub.Renames["acme/old-tiny"] = "acme/tiny";

        var path = await Downloader().ResolveAsync(reference, Ct);

        Assert.StartsWith(Path.Combine(Cache, "models--acme--old-tiny", "snapshots", Commit), path, StringComparison.Ordinal);
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/acme/tiny/resolve/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DroppedConnection_ResumesWithRange()
    {
        var etag = new FakeFile(Safetensors, true).Etag;
        _hub.AbortNextBodies(Cut);
        _hub.BeforeFailure = () => WaitForLengthAsync(Path.Combine(RepoDir, "blobs", etag + ".incomplete"), Cut);

        var path = await Downloader().ResolveAsync("hf:acme/tiny/model.safetensors", Ct);

        Assert.Equal(Safetensors, File.ReadAllBytes(path));
        var bodies = _hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, bodies.Count);
        Assert.Equal(string.Empty, bodies[0].Range);
        Assert.Equal($"bytes={Cut}-", bodies[1].Range);
        Assert.Contains(_logger.Lines, l => l.Level == LogLevel.Information && l.Message.Contains($"Resuming model.safetensors at byte {Cut}", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(RepoDir, "blobs", etag + ".incomplete")));
    }

    [Fact]
    public async Task DroppedConnection_ServerIgnoringRange_StartsOver()
    {
        var etag = new FakeFile(Safetensors, true).Etag;
        _hub.IgnoreRange = true;
        _hub.AbortNextBodies(Cut);
        _hub.BeforeFailure = () => WaitForLengthAsync(Path.Combine(RepoDir, "blobs", etag + ".incomplete"), Cut);

        var path = await Downloader().ResolveAsync("hf:acme/tiny/model.safetensors", Ct);

        Assert.Equal(Safetensors, File.ReadAllBytes(path));
        Assert.Contains(_logger.Lines, l => l.Message.Contains("starting over", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerErrors_AreRetried()
    {
        _hub.ServerErrors = 2;

        var path = await Downloader().ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct);

        Assert.Equal(Gguf, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task ServerErrors_BeyondTheRetries_Fail()
    {
        _hub.ServerErrors = 100;

        var e = await Assert.ThrowsAsync<HuggingFaceHubException>(() => Downloader(o => o with { MaxAttempts = 3 }).ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct));

        Assert.Contains("503", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, _hub.Requests.Count);
    }

    [Theory]
    [InlineData("model.safetensors", true, "sha256")]
    [InlineData("config.json", false, "git-sha1")]
    public async Task CorruptTransfer_FailsAndLeavesNothing(string file, bool lfs, string algorithm)
    {
        _hub.Corrupt = true;
        var expected = new FakeFile(lfs ? Safetensors : Config, lfs).Etag;

        var e = await Assert.ThrowsAsync<HuggingFaceHubException>(() => Downloader().ResolveAsync($"hf:acme/tiny/{file}", Ct));

        Assert.Contains("checksum mismatch", e.Message, StringComparison.Ordinal);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains($"{algorithm} {expected}", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs")));
        Assert.False(Directory.Exists(Path.Combine(RepoDir, "snapshots")));
        Assert.False(File.Exists(Path.Combine(RepoDir, "refs", "main")));
    }

    [Theory]
    [InlineData("hf:acme/missing")]
    [InlineData("hf:acme/missing/model.gguf")]
    [InlineData("hf:acme/tiny/missing.gguf")]
    public async Task Missing_SaysNotFound(string reference)
    {
        var e = await Assert.ThrowsAsync<HuggingFaceHubException>(() => Downloader().ResolveAsync(reference, Ct));

        Assert.Contains("not found", e.Message, StringComparison.Ordinal);
        Assert.Contains("404", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatedRepo_WithoutToken_PointsAtHfToken()
    {
        _hub.RequiredToken = "hf_secret";

        var e = await Assert.ThrowsAsync<HuggingFaceHubException>(() => Downloader().ResolveAsync("hf:acme/tiny", Ct));

        Assert.Contains("401", e.Message, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", e.Message, StringComparison.Ordinal);
        Assert.Contains("Access to this model is restricted.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatedRepo_WithToken_SendsItToTheHubButNotToTheCdn()
    {
        _hub.RequiredToken = "hf_secret";
        _hub.CdnHost = "localhost";

        var path = await Downloader(o => o with { Token = "hf_secret" }).ResolveAsync("hf:acme/tiny/tiny-Q4.gguf", Ct);

        Assert.Equal(Gguf, File.ReadAllBytes(path));
        Assert.All(_hub.Requests.Where(r => !r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.All(_hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.Equal(string.Empty, r.Authorization));
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("hf:acme/tiny")]
    [InlineData("hf:acme/tiny/tiny-Q4.gguf")]
    public async Task Offline_WithCache_UsesItWithoutRequests(string reference)
    {
        var online = await Downloader().ResolveAsync(reference, Ct);
        _hub.Requests.Clear();

        var offline = await Downloader(o => o with { Offline = true }).ResolveAsync(reference, Ct);

        Assert.Equal(online, offline);
        Assert.Empty(_hub.Requests);
    }

    [Theory]
    [InlineData("hf:acme/tiny")]
    [InlineData("hf:acme/tiny/tiny-Q4.gguf")]
    public async Task Offline_WithoutCache_FailsClearly(string reference)
    {
        var e = await Assert.ThrowsAsync<HuggingFaceHubException>(() => Downloader(o => o with { Offline = true }).ResolveAsync(reference, Ct));

        Assert.Contains("HF_HUB_OFFLINE", e.Message, StringComparison.Ordinal);
        Assert.Contains("not in the cache", e.Message, StringComparison.Ordinal);
        Assert.Empty(_hub.Requests);
    }

    [Theory]
    [InlineData("hf:acme/tiny")]
    [InlineData("hf:acme/tiny/tiny-Q4.gguf")]
    public async Task HubUnreachable_FallsBackToCache(string reference)
    {
        var online = await Downloader().ResolveAsync(reference, Ct);
        var dead = new Uri("http://127.0.0.1:1");

        var fallback = await Downloader(o => o with { Endpoint = dead }).ResolveAsync(reference, Ct);

        Assert.Equal(online, fallback);
        Assert.Contains(_logger.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("cannot be reached", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("hf:")]
    [InlineData("hf:owner")]
    [InlineData("hf:owner/")]
    [InlineData("hf:/repo")]
    [InlineData("hf:../x")]
    [InlineData("hf:owner/..")]
    [InlineData("hf:owner/repo/../../etc/passwd")]
    [InlineData("hf:owner/repo/")]
    [InlineData("hf:owner/repo/a//b")]
    [InlineData("hf:owner/repo/a\\b")]
    [InlineData("hf:own--er/repo")]
    [InlineData("hf:-owner/repo")]
    [InlineData("hf:owner/re po")]
    [InlineData("owner/repo")]
    public async Task MalformedReference_IsRefusedWithoutRequests(string reference)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Downloader().ResolveAsync(reference, Ct));

        Assert.Contains("hf:owner/repo", e.Message, StringComparison.Ordinal);
        Assert.Empty(_hub.Requests);
        Assert.False(Directory.Exists(Cache));
    }

    [Fact]
    public async Task Cancellation_StopsPromptlyAndLeavesAResumableFile()
    {
        var etag = new FakeFile(Safetensors, true).Etag;
        var incomplete = Path.Combine(RepoDir, "blobs", etag + ".incomplete");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        _hub.StallNextBody(Cut);
        _hub.BeforeFailure = async () =>
        {
            await WaitForLengthAsync(incomplete, Cut);
            await cts.CancelAsync();
        };

        var resolve = Downloader().ResolveAsync("hf:acme/tiny/model.safetensors", cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolve.WaitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.Equal(Cut, new FileInfo(incomplete).Length);
        Assert.False(Directory.Exists(Path.Combine(RepoDir, "snapshots")));

        _hub.BeforeFailure = null;
        _hub.Requests.Clear();
        var path = await Downloader().ResolveAsync("hf:acme/tiny/model.safetensors", Ct);

        Assert.Equal(Safetensors, File.ReadAllBytes(path));
        Assert.Equal($"bytes={Cut}-", Assert.Single(_hub.Requests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Range);
    }

    [Fact]
    public async Task GgufOnlyRepo_AsWholeRepo_PointsAtTheFileForm()
    {
        _hub.AddRepo("acme/gguf-only", Commit, ("README.md", Config, false), ("model-Q4_K_M.gguf", Gguf, true));

        var e = await Assert.ThrowsAsync<HuggingFaceHubException>(() => Downloader().ResolveAsync("hf:acme/gguf-only", Ct));

        Assert.Contains("hf:acme/gguf-only/model-Q4_K_M.gguf", e.Message, StringComparison.Ordinal);
        Assert.Empty(_hub.BodyRequests);
    }

    [Fact]
    public async Task ShardedRepo_FetchesTheIndexedShardsOnly()
    {
        var index = Encoding.UTF8.GetBytes("""{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}""");
        _hub.AddRepo(
            "acme/sharded",
            Commit,
            ("config.json", Config, false),
            ("generation_config.json", Config, false),
            ("model.safetensors.index.json", index, false),
            ("model-00001-of-00002.safetensors", Bytes(5000, 5), true),
            ("model-00002-of-00002.safetensors", Bytes(6000, 6), true),
            ("consolidated.safetensors", Bytes(11000, 7), true));

        var path = await Downloader().ResolveAsync("hf:acme/sharded", Ct);

        Assert.Equal(
            ["config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"],
            Directory.EnumerateFiles(path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(_hub.Requests, r => r.Path.Contains("consolidated", StringComparison.Ordinal));
    }

    private HuggingFaceDownloader Downloader(Func<HuggingFaceHubOptions, HuggingFaceHubOptions>? configure = null)
    {
        var options = new HuggingFaceHubOptions { Endpoint = _hub.Endpoint, CacheDirectory = Cache, RetryDelay = TimeSpan.Zero };
        return new HuggingFaceDownloader(_http, configure?.Invoke(options) ?? options, _logger);
    }

    private static async Task WaitForLengthAsync(string path, long length)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(File.Exists(path) && new FileInfo(path).Length >= length))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path} never reached {length} bytes");
            }

            await Task.Delay(5);
        }
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
