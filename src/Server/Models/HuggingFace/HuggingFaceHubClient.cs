using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Serving.Server.Models.HuggingFace;

/// <summary>The few Hub HTTP calls a download needs: repository listing, file metadata (HEAD on the resolve URL) and the
/// file GET with an optional range. Follows redirects itself, so the <see cref="HttpClient"/> must not (see
/// <see cref="CreateHttpClient"/>): the metadata of an LFS file sits on the Hub's redirect, not on the CDN's answer.</summary>
internal sealed class HuggingFaceHubClient(HttpClient http, HuggingFaceHubOptions options)
{
    private const int MaxRedirects = 10;

    /// <summary>An <see cref="HttpClient"/> fit for the Hub: no automatic redirects or decompression, no overall
    /// timeout (files are many GB), a bounded connect time.</summary>
    public static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>The commit <paramref name="revision"/> points at and the repository's file list.</summary>
    public async Task<HubRepoInfo> GetRepoInfoAsync(HuggingFaceReference reference, string revision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var uri = Url($"api/models/{reference.Owner}/{reference.Repo}/revision/{Uri.EscapeDataString(revision)}");
        using var response = await SendAsync(HttpMethod.Get, uri, followAbsoluteRedirects: true, null, cancellationToken);
        ThrowOnError(response, $"{reference.RepoId} at revision {revision}");
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var json = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
            var root = json.RootElement;
            var sha = root.TryGetProperty("sha", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : string.Empty;
            if (!HubNames.IsCommitHash(sha))
            {
                throw new HuggingFaceHubException($"{reference.RepoId}: the Hub's repository listing has no valid commit hash ('{sha}')");
            }

            var files = new List<string>();
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (var sibling in siblings.EnumerateArray())
                {
                    if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out var name) && name.ValueKind == JsonValueKind.String)
                    {
                        files.Add(name.GetString()!);
                    }
                }
            }

            return new HubRepoInfo(sha, files);
        }
        catch (JsonException e)
        {
            throw new HuggingFaceHubException($"{reference.RepoId}: the Hub's repository listing is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>HEAD on the resolve URL: commit, ETag and size of <paramref name="path"/> at <paramref name="revision"/>.</summary>
    public async Task<HubFileMetadata> GetFileMetadataAsync(HuggingFaceReference reference, string revision, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var what = $"{reference.RepoId}/{path} at revision {revision}";
        using var response = await SendAsync(HttpMethod.Head, ResolveUrl(reference, revision, path), followAbsoluteRedirects: false, null, cancellationToken);
        if (!IsRedirect(response.StatusCode))
        {
            ThrowOnError(response, what);
        }

        var commit = Header(response, "X-Repo-Commit");
        if (commit is null || !HubNames.IsCommitHash(commit))
        {
            throw new HuggingFaceHubException(
                $"{what}: the Hub's answer has no valid X-Repo-Commit header ('{commit}'); is HF_ENDPOINT a Hugging Face Hub, and does the HttpClient leave redirects to the caller?");
        }

        var etag = NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
        if (etag is null || !HubNames.IsSafeEtag(etag))
        {
            throw new HuggingFaceHubException($"{what}: the Hub's answer has no usable ETag ('{etag}')");
        }

        long? size = long.TryParse(Header(response, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var linked)
            ? linked
            : IsRedirect(response.StatusCode) ? null : response.Content.Headers.ContentLength;
        return new HubFileMetadata(commit, etag, size, ResolveUrl(reference, commit, path));
    }

    /// <summary>GET <paramref name="uri"/> from byte <paramref name="offset"/> on, following redirects. The caller
    /// owns the response and checks its status (200, 206, 416); error statuses are thrown here.</summary>
    public async Task<HttpResponseMessage> GetFileAsync(Uri uri, long offset, string what, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, uri, followAbsoluteRedirects: true, offset > 0 ? new RangeHeaderValue(offset, null) : null, cancellationToken);
        if (response.StatusCode != HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            try
            {
                ThrowOnError(response, what);
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        return response;
    }

    private Uri ResolveUrl(HuggingFaceReference reference, string revision, string path) =>
        Url($"{reference.Owner}/{reference.Repo}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    private Uri Url(string relative) => new($"{options.Endpoint.AbsoluteUri.TrimEnd('/')}/{relative}");

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, bool followAbsoluteRedirects, RangeHeaderValue? range, CancellationToken cancellationToken)
    {
        var current = uri;
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(method, current);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("serving", "1.0"));
            request.Headers.Range = range;
            if (options.Token is not null && SameOrigin(current, options.Endpoint))
            {
                // Never hand the token to a CDN or any other host a redirect points at.
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
            }

            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var location = response.Headers.Location;
            if (!IsRedirect(response.StatusCode) || location is null || (!followAbsoluteRedirects && location.IsAbsoluteUri))
            {
                return response;
            }

            response.Dispose();
            if (redirects >= MaxRedirects)
            {
                throw new HuggingFaceHubException($"{uri}: more than {MaxRedirects} redirects");
            }

            current = location.IsAbsoluteUri ? location : new Uri(current, location);
        }
    }

    private void ThrowOnError(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var detail = Header(response, "X-Error-Message") is { } m ? $" (Hub: {m})" : string.Empty;
        var code = Header(response, "X-Error-Code");
        var message = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized when options.Token is null =>
                $"{what}: 401 Unauthorized{detail}; the repository is gated or private (or does not exist): set HF_TOKEN to a Hugging Face access token that can read it",
            HttpStatusCode.Unauthorized =>
                $"{what}: 401 Unauthorized{detail}; the token in HF_TOKEN was refused, or the repository does not exist",
            HttpStatusCode.Forbidden =>
                $"{what}: 403 Forbidden{detail}; access is restricted (a gated repository: accept its terms on the Hub, then set HF_TOKEN to a token of that account)",
            HttpStatusCode.NotFound when code == "EntryNotFound" => $"{what}: file not found in the repository (404){detail}",
            HttpStatusCode.NotFound when code == "RevisionNotFound" => $"{what}: revision not found (404){detail}",
            HttpStatusCode.NotFound => $"{what}: repository or file not found (404){detail}",
            _ => $"{what}: the Hub answered {status} {response.ReasonPhrase}{detail}",
        };
        throw new HuggingFaceHubException(message, isTransient: status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests);
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400 and not 304;

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && a.Port == b.Port && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    /// <summary>Strips a weak marker and the quotes: <c>W/"abc"</c> becomes <c>abc</c>.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (etag is null)
        {
            return null;
        }

        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        return value.Trim('"');
    }
}
