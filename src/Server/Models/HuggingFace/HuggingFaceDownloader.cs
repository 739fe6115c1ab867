
namespace Serving.Server.Models.HuggingFace;

/// <summary>Turns an <c>hf:owner/repo</c> or <c>hf:owner/repo/path/to/file</c> reference into a local path for
/// <c>ModelLoader.Load</c>, downloading into the huggingface_hub cache what is not there yet. The
/// <see cref="HttpClient"/> must not follow redirects itself; <see cref="HuggingFaceHubClient.CreateHttpClient"/> makes one.</summary>
internal sealed class HuggingFaceDownloader
{
    private readonly HuggingFaceHubOptions _options;
    private readonly ILogger _logger;
    private readonly HuggingFaceHubClient _client;
    private readonly HubRetry _retry;
    private readonly BlobTransfer _transfer;

    /// <summary>Creates a downloader that talks to the Hub through <paramref name="http"/>.</summary>
    public HuggingFaceDownloader(HttpClient http, HuggingFaceHubOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _logger = logger;
        _client = new HuggingFaceHubClient(http, options);
        _retry = new HubRetry(options, logger);
        _transfer = new BlobTransfer(_client, _retry, logger);
    }

    /// <summary>The local path of <paramref name="reference"/>: the file for <c>hf:owner/repo/file</c>, the snapshot
    /// directory for <c>hf:owner/repo</c>. Throws <see cref="ArgumentException"/> for a malformed reference (before
    /// any request) and <see cref="HuggingFaceHubException"/> when the Hub or the cache cannot provide it.</summary>
    public async Task<string> ResolveAsync(string reference, CancellationToken cancellationToken)
    {
        var parsed = HuggingFaceReference.Parse(reference);
        if (!HubNames.IsValidRevision(_options.Revision))
        {
            throw new ArgumentException($"invalid Hugging Face revision '{_options.Revision}'");
        }

        var cache = new HuggingFaceCache(_options.CacheDirectory, parsed);
        return parsed.FilePath is { } file
            ? await ResolveFileAsync(parsed, cache, _options.Revision, file, cancellationToken)
            : await ResolveRepositoryAsync(parsed, cache, _options.Revision, cancellationToken);
    }

    private async Task<string> ResolveFileAsync(HuggingFaceReference reference, HuggingFaceCache cache, string revision, string path, CancellationToken cancellationToken)
    {
        var cached = cache.FindFile(revision, path);
        if (_options.Offline)
        {
            return cached ?? throw NotCached($"hf:{reference.RepoId}/{path}", revision, cache);
        }

        if (cached is not null && HubNames.IsCommitHash(revision))
        {
            return cached; // a commit never changes
        }

        HubFileMetadata metadata;
        try
        {
            metadata = await _retry.RunAsync($"Metadata request for {path}", t => _client.GetFileMetadataAsync(reference, revision, path, t), cancellationToken);
        }
        catch (Exception e) when (cached is not null && HubRetry.IsTransient(e, cancellationToken))
        {
            _logger.LogWarning("The Hub cannot be reached ({Message}); using the cached {File}", e.Message, cached);
            return cached;
        }

        var snapshotFile = cache.SnapshotFile(metadata.CommitHash, path);
        if (!File.Exists(snapshotFile))
        {
            var blob = cache.BlobPath(metadata.Etag);
            if (File.Exists(blob))
            {
                _logger.LogInformation("{File} is already in the cache as blob {Etag}", path, metadata.Etag);
            }
            else
            {
                await _transfer.DownloadAsync(metadata, path, blob, cancellationToken);
            }

            HuggingFaceCache.Link(blob, snapshotFile);
        }

        cache.WriteRef(revision, metadata.CommitHash);
        return snapshotFile;
    }

    private async Task<string> ResolveRepositoryAsync(HuggingFaceReference reference, HuggingFaceCache cache, string revision, CancellationToken cancellationToken)
    {
        if (_options.Offline)
        {
            return CachedSnapshot(reference, cache, revision) ?? throw NotCached($"hf:{reference.RepoId}", revision, cache);
        }

        HubRepoInfo info;
        try
        {
            info = await _retry.RunAsync($"Listing of {reference.RepoId}", t => _client.GetRepoInfoAsync(reference, revision, t), cancellationToken);
        }
        catch (Exception e) when (HubRetry.IsTransient(e, cancellationToken) && CachedSnapshot(reference, cache, revision) is { } snapshot)
        {
            _logger.LogWarning("The Hub cannot be reached ({Message}); using the cached {Directory}", e.Message, snapshot);
            return snapshot;
        }

        var files = ModelFileSelection.Select(reference.RepoId, info.Files);
        if (files.FirstOrDefault(f => !HubNames.IsValidRepoPath(f)) is { } unsafePath)
        {
            throw new HuggingFaceHubException($"hf:{reference.RepoId}: the Hub lists a file with an unusable name: '{unsafePath}'");
        }

        if (files.Contains(ModelFileSelection.SafetensorsIndex))
        {
            var index = await ResolveFileAsync(reference, cache, info.CommitHash, ModelFileSelection.SafetensorsIndex, cancellationToken);
            files = ModelFileSelection.NarrowToIndex(reference.RepoId, files, index);
        }

        _logger.LogInformation("hf:{Repo} at {Revision} is commit {Commit}: {Count} files ({Files})", reference.RepoId, revision, info.CommitHash, files.Count, string.Join(", ", files));
        foreach (var file in files)
        {
            await ResolveFileAsync(reference, cache, info.CommitHash, file, cancellationToken);
        }

        cache.WriteRef(revision, info.CommitHash);
        return cache.SnapshotDirectory(info.CommitHash);
    }

    /// <summary>The cached snapshot <paramref name="revision"/> last resolved to, if it holds a loadable directory.</summary>
    private static string? CachedSnapshot(HuggingFaceReference reference, HuggingFaceCache cache, string revision)
    {
        if (cache.ResolveCommit(revision) is not { } commit)
        {
            return null;
        }

        var directory = cache.SnapshotDirectory(commit);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        try
        {
            var present = Directory.EnumerateFiles(directory).Where(File.Exists).Select(Path.GetFileName).OfType<string>().ToList();
            var files = ModelFileSelection.Select(reference.RepoId, present);
            if (files.Contains(ModelFileSelection.SafetensorsIndex))
            {
                ModelFileSelection.NarrowToIndex(reference.RepoId, files, Path.Combine(directory, ModelFileSelection.SafetensorsIndex));
            }

            return directory;
        }
        catch (HuggingFaceHubException)
        {
            return null; // an interrupted download: not a whole model directory
        }
    }

    private static HuggingFaceHubException NotCached(string what, string revision, HuggingFaceCache cache) =>
        new($"{what} at revision {revision} is not in the cache ({cache.RepoDirectory}) and HF_HUB_OFFLINE is set: download it once with network access, or unset HF_HUB_OFFLINE");
}
