namespace Serving.Server.Models.HuggingFace;

/// <summary>One repository's folder in the huggingface_hub cache layout, shared with Python tools:
/// <c>models--{owner}--{repo}/blobs/{etag}</c> holds contents, <c>snapshots/{commit}/{path}</c> links to them,
/// <c>refs/{revision}</c> holds the commit a branch or tag last resolved to.</summary>
internal sealed class HuggingFaceCache
{
    /// <summary>Opens (without creating) the folder for <paramref name="reference"/>'s repository under <paramref name="cacheDirectory"/>.</summary>
    public HuggingFaceCache(string cacheDirectory, HuggingFaceReference reference)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        ArgumentNullException.ThrowIfNull(reference);
        RepoDirectory = Path.Combine(Path.GetFullPath(cacheDirectory), $"models--{reference.Owner}--{reference.Repo}");
    }

    /// <summary><c>{cache}/models--{owner}--{repo}</c>.</summary>
    public string RepoDirectory { get; }

    /// <summary>Where the verified content named <paramref name="etag"/> lives.</summary>
    public string BlobPath(string etag) =>
        HubNames.IsSafeEtag(etag) ? Path.Combine(RepoDirectory, "blobs", etag) : throw new ArgumentException($"unsafe ETag '{etag}'", nameof(etag));

    /// <summary>Where a transfer of <paramref name="etag"/> accumulates until verified; kept across runs to resume.</summary>
    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";

    /// <summary>The model directory for <paramref name="commit"/>.</summary>
    public string SnapshotDirectory(string commit) =>
        HubNames.IsCommitHash(commit) ? Path.Combine(RepoDirectory, "snapshots", commit) : throw new ArgumentException($"not a commit hash: '{commit}'", nameof(commit));

    /// <summary>Where <paramref name="repoPath"/> appears in the snapshot of <paramref name="commit"/>.</summary>
    public string SnapshotFile(string commit, string repoPath) =>
        HubNames.IsValidRepoPath(repoPath)
            ? Path.Combine(SnapshotDirectory(commit), repoPath.Replace('/', Path.DirectorySeparatorChar))
            : throw new ArgumentException($"unsafe repository path '{repoPath}'", nameof(repoPath));

    /// <summary>The commit <paramref name="revision"/> means here: itself when it is a commit hash, else what
    /// <c>refs/{revision}</c> recorded; null when never resolved.</summary>
    public string? ResolveCommit(string revision)
    {
        if (HubNames.IsCommitHash(revision))
        {
            return revision;
        }

        var path = RefPath(revision);
        if (!File.Exists(path))
        {
            return null;
        }

        var commit = File.ReadAllText(path).Trim();
        return HubNames.IsCommitHash(commit) ? commit : null;
    }

    /// <summary>Records that <paramref name="revision"/> resolved to <paramref name="commit"/> (nothing for a commit hash).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (HubNames.IsCommitHash(revision) || ResolveCommit(revision) == commit)
        {
            return;
        }

        var path = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, commit);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The cached copy of <paramref name="repoPath"/> at <paramref name="revision"/>, or null.</summary>
    public string? FindFile(string revision, string repoPath) =>
        ResolveCommit(revision) is { } commit && SnapshotFile(commit, repoPath) is var file && File.Exists(file) ? file : null;

    /// <summary>Makes <paramref name="snapshotFile"/> point at <paramref name="blob"/>: a relative symbolic link as
    /// huggingface_hub makes, or a copy where links cannot be made.</summary>
    public static void Link(string blob, string snapshotFile)
    {
        ArgumentException.ThrowIfNullOrEmpty(blob);
        ArgumentException.ThrowIfNullOrEmpty(snapshotFile);
        var directory = Path.GetDirectoryName(snapshotFile)!;
        Directory.CreateDirectory(directory);
        if (File.Exists(snapshotFile) || new FileInfo(snapshotFile).LinkTarget is not null)
        {
            File.Delete(snapshotFile); // a stale copy or a dangling link
        }

        try
        {
            File.CreateSymbolicLink(snapshotFile, Path.GetRelativePath(directory, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            var temporary = $"{snapshotFile}.{Environment.ProcessId}.tmp";
            File.Copy(blob, temporary, overwrite: true);
            File.Move(temporary, snapshotFile, overwrite: true);
        }
    }

    private string RefPath(string revision) =>
        HubNames.IsValidRevision(revision)
            ? Path.Combine(RepoDirectory, "refs", revision.Replace('/', Path.DirectorySeparatorChar))
            : throw new ArgumentException($"invalid revision '{revision}'", nameof(revision));
}
