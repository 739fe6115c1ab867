using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serving.Server.Tests.HuggingFace;

/// <summary>A stand-in for the Hugging Face Hub on loopback: in-memory repositories, the revision API, HEAD/GET on
/// resolve URLs (LFS files answer with a redirect to a "CDN" path, as the Hub does), Range support, and switches for
/// the failures the downloader must survive.</summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _abortsLeft;
    private int _stallsLeft;

    private FakeHub(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public ConcurrentDictionary<string, FakeRepo> Repos { get; } = new(StringComparer.Ordinal);

    /// <summary>Renamed repositories: old id to new id; the old URLs answer 307 with a relative Location, as the Hub does.</summary>
    public ConcurrentDictionary<string, string> Renames { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    /// <summary>Bodies served with one byte flipped.</summary>
    public bool Corrupt { get; set; }

    /// <summary>When set, requests without <c>Authorization: Bearer {token}</c> get 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Range headers ignored: full 200 answers.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>Host name the LFS redirect points at (another origin than the endpoint when not 127.0.0.1).</summary>
    public string CdnHost { get; set; } = "127.0.0.1";

    /// <summary>The next this many requests to resolve or API URLs get 503.</summary>
    public int ServerErrors { get; set; }

    /// <summary>Bytes to send before failing the next body transfer(s).</summary>
    public int FailAfterBytes { get; set; }

    /// <summary>Runs after <see cref="FailAfterBytes"/> were sent and before the connection is dropped or the stall begins.</summary>
    public Func<Task>? BeforeFailure { get; set; }

    public static async Task<FakeHub> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        FakeHub? hub = null;
        app.Run(context => hub!.HandleAsync(context));
        await app.StartAsync(cancellationToken);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        hub = new FakeHub(app, address);
        return hub;
    }

    /// <summary>The next <paramref name="count"/> body transfers send <see cref="FailAfterBytes"/> bytes, then drop the connection.</summary>
    public void AbortNextBodies(int bytes, int count = 1)
    {
        FailAfterBytes = bytes;
        _abortsLeft = count;
    }

    /// <summary>The next body transfer sends <paramref name="bytes"/> bytes, then hangs until the client goes away.</summary>
    public void StallNextBody(int bytes)
    {
        FailAfterBytes = bytes;
        _stallsLeft = 1;
    }

    public FakeRepo AddRepo(string repoId, string commit, params (string Path, byte[] Content, bool Lfs)[] files)
    {
        var repo = new FakeRepo(commit, files.ToDictionary(f => f.Path, f => new FakeFile(f.Content, f.Lfs), StringComparer.Ordinal));
        Repos[repoId] = repo;
        return repo;
    }

    public IEnumerable<SeenRequest> BodyRequests => Requests.Where(r => r.Method == "GET" && !r.Path.StartsWith("/api/", StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? string.Empty;
        Requests.Enqueue(new SeenRequest(request.Method, path, request.Headers.Range.ToString(), request.Headers.Authorization.ToString()));
        var parts = path.Trim('/').Split('/');
        if (parts.Length == 2 && parts[0] == "cdn")
        {
            var blob = Repos.Values.SelectMany(r => r.Files.Values).FirstOrDefault(f => f.Etag == parts[1]);
            await (blob is null ? Status(context, 404, "EntryNotFound") : ServeBodyAsync(context, blob));
            return;
        }

        if (ServerErrors > 0)
        {
            ServerErrors--;
            await Status(context, 503, "Unavailable");
            return;
        }

        if (RequiredToken is not null && request.Headers.Authorization.ToString() != $"Bearer {RequiredToken}")
        {
            await Status(context, 401, "GatedRepo", "Access to this model is restricted.");
            return;
        }

        var repoAt = parts.Length >= 4 && parts[0] == "api" ? 2 : 0;
        if (parts.Length >= repoAt + 2 && Renames.TryGetValue($"{parts[repoAt]}/{parts[repoAt + 1]}", out var renamed))
        {
            var moved = parts.ToArray();
            (moved[repoAt], moved[repoAt + 1]) = (renamed.Split('/')[0], renamed.Split('/')[1]);
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = "/" + string.Join('/', moved);
            return;
        }

        if (parts.Length >= 6 && parts[0] == "api" && parts[1] == "models" && parts[4] == "revision")
        {
            if (!Repos.TryGetValue($"{parts[2]}/{parts[3]}", out var repo))
            {
                await Status(context, 404, "RepoNotFound");
                return;
            }

            var json = JsonSerializer.Serialize(new { id = $"{parts[2]}/{parts[3]}", sha = repo.Commit, siblings = repo.Files.Keys.Select(k => new { rfilename = k }) });
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json);
            return;
        }

        if (parts.Length >= 5 && parts[2] == "resolve")
        {
            if (!Repos.TryGetValue($"{parts[0]}/{parts[1]}", out var repo))
            {
                await Status(context, 404, "RepoNotFound");
                return;
            }

            var filePath = string.Join('/', parts.Skip(4).Select(Uri.UnescapeDataString));
            if (!repo.Files.TryGetValue(filePath, out var file))
            {
                await Status(context, 404, "EntryNotFound");
                return;
            }

            context.Response.Headers["X-Repo-Commit"] = repo.Commit;
            if (file.Lfs)
            {
                context.Response.Headers["X-Linked-Etag"] = $"\"{file.Etag}\"";
                context.Response.Headers["X-Linked-Size"] = file.Content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers.ETag = "\"ignored-cdn-style-etag\"";
                context.Response.StatusCode = 302;
                context.Response.Headers.Location = new UriBuilder(Endpoint) { Host = CdnHost, Path = $"/cdn/{file.Etag}" }.Uri.AbsoluteUri;
                return;
            }

            context.Response.Headers.ETag = $"\"{file.Etag}\"";
            if (HttpMethods.IsHead(request.Method))
            {
                context.Response.ContentLength = file.Content.Length;
                return;
            }

            await ServeBodyAsync(context, file);
            return;
        }

        await Status(context, 404, "RepoNotFound");
    }

    private async Task ServeBodyAsync(HttpContext context, FakeFile file)
    {
        var content = file.Content;
        var start = 0;
        var range = context.Request.Headers.Range.ToString();
        if (!IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = int.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= content.Length)
            {
                context.Response.StatusCode = 416;
                return;
            }

            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }

        var body = content[start..];
        if (Corrupt)
        {
            body[^1] ^= 0xff;
        }

        context.Response.ContentLength = body.Length;
        var abort = Interlocked.Decrement(ref _abortsLeft) >= 0;
        var stall = !abort && Interlocked.Decrement(ref _stallsLeft) >= 0;
        if (!abort && !stall)
        {
            await context.Response.Body.WriteAsync(body);
            return;
        }

        var sent = Math.Min(FailAfterBytes, body.Length);
        await context.Response.Body.WriteAsync(body.AsMemory(0, sent));
        await context.Response.Body.FlushAsync();
        if (BeforeFailure is not null)
        {
            await BeforeFailure();
        }

        if (abort)
        {
            context.Abort();
            return;
        }

        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Task Status(HttpContext context, int status, string code, string? message = null)
    {
        context.Response.StatusCode = status;
        context.Response.Headers["X-Error-Code"] = code;
        if (message is not null)
        {
            context.Response.Headers["X-Error-Message"] = message;
        }

        return Task.CompletedTask;
    }
}

internal sealed record SeenRequest(string Method, string Path, string Range, string Authorization);

internal sealed record FakeRepo(string Commit, Dictionary<string, FakeFile> Files);

internal sealed record FakeFile(byte[] Content, bool Lfs)
{
    public string Etag { get; } = Lfs ? Convert.ToHexStringLower(SHA256.HashData(Content)) : GitSha1(Content);

    private static string GitSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
}
