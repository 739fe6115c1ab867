using System.Buffers;

namespace Serving.Server.Models.HuggingFace;

/// <summary>What the Hub and this cache accept as names: repository owners and names, paths inside a repository,
/// revisions, commit hashes and ETags. Everything that becomes part of a local path passes through here first, whether
/// it came from the user or from the server.</summary>
internal static class HubNames
{
    private const int MaxNameLength = 96;
    private const int MaxPathLength = 1024;

    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    private static readonly SearchValues<char> RevisionChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./");

    private static readonly SearchValues<char> HexChars = SearchValues.Create("0123456789abcdef");

    /// <summary>An owner or repository name as huggingface_hub's <c>validate_repo_id</c> accepts it: letters, digits,
    /// <c>-</c>, <c>_</c>, <c>.</c>; no <c>--</c> or <c>..</c>; not starting or ending with <c>-</c> or <c>.</c>.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= MaxNameLength
        && !name.AsSpan().ContainsAnyExcept(NameChars)
        && !name.Contains("--", StringComparison.Ordinal)
        && !name.Contains("..", StringComparison.Ordinal)
        && name[0] is not ('-' or '.')
        && name[^1] is not ('-' or '.');

    /// <summary>A relative path inside a repository, <c>/</c>-separated: no empty, <c>.</c> or <c>..</c> segments,
    /// no backslashes, colons or control characters, so it can never leave the snapshot directory.</summary>
    public static bool IsValidRepoPath(string path)
    {
        if (path.Length is 0 or > MaxPathLength || path.Contains('\\') || path.Contains(':'))
        {
            return false;
        }

        foreach (var c in path)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.Trim().Length != segment.Length)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A branch, tag or commit: a repository path (so <c>refs/pr/1</c> works) of name characters.</summary>
    public static bool IsValidRevision(string revision) =>
        IsValidRepoPath(revision) && !revision.AsSpan().ContainsAnyExcept(RevisionChars);

    /// <summary>A full 40-character lowercase hexadecimal git commit hash.</summary>
    public static bool IsCommitHash(string value) => IsHex(value, 40);

    /// <summary>A 64-character lowercase hexadecimal SHA-256, the ETag of an LFS file.</summary>
    public static bool IsSha256(string value) => IsHex(value, 64);

    /// <summary>An ETag safe to use as a blob file name.</summary>
    public static bool IsSafeEtag(string etag) =>
        etag.Length is > 0 and <= 128 && !etag.AsSpan().ContainsAnyExcept(NameChars) && etag[0] != '.' && !etag.Contains("..", StringComparison.Ordinal);

    private static bool IsHex(string value, int length) => value.Length == length && !value.AsSpan().ContainsAnyExcept(HexChars);
}
