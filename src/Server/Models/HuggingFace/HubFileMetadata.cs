namespace Serving.Server.Models.HuggingFace;

/// <summary>What the Hub says about one file at one revision, before any byte of it is fetched.</summary>
/// <param name="CommitHash">The commit the revision resolved to (<c>X-Repo-Commit</c>).</param>
/// <param name="Etag">The content's id: the SHA-256 of an LFS file, the git blob SHA-1 of a regular one; names the blob.</param>
/// <param name="Size">The file's length in bytes, when the Hub says.</param>
/// <param name="DownloadUri">Where to GET the content (the resolve URL pinned to <paramref name="CommitHash"/>).</param>
internal sealed record HubFileMetadata(string CommitHash, string Etag, long? Size, Uri DownloadUri);

/// <summary>A repository at one revision: its commit and the paths of all its files.</summary>
internal sealed record HubRepoInfo(string CommitHash, IReadOnlyList<string> Files);
