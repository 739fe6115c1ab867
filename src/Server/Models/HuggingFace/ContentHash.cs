using System.Globalization;
using System.Security.Cryptography;

namespace Serving.Server.Models.HuggingFace;

/// <summary>The hash a file's ETag promises, computed as the bytes stream past: SHA-256 for LFS files (64-hex ETag),
/// git's blob SHA-1, <c>sha1("blob {length}\0" + content)</c>, for regular files (40-hex ETag).</summary>
internal sealed class ContentHash : IDisposable
{
    private readonly IncrementalHash _hash;

    private ContentHash(IncrementalHash hash, string algorithm)
    {
        _hash = hash;
        Algorithm = algorithm;
    }

    /// <summary>Names the hash in messages: <c>sha256</c> or <c>git-sha1</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The hash <paramref name="etag"/> is, or null when the ETag is neither form (or the git hash lacks
    /// the <paramref name="size"/> its header needs), and only the size can be checked.</summary>
    public static ContentHash? ForEtag(string etag, long? size)
    {
        if (HubNames.IsSha256(etag))
        {
            return new ContentHash(IncrementalHash.CreateHash(HashAlgorithmName.SHA256), "sha256");
        }

        if (HubNames.IsCommitHash(etag) && size is { } length)
        {
#pragma warning disable CA5350 // git names blobs by SHA-1; this checks integrity against that name, it is not a security boundary.
            var hash = new ContentHash(IncrementalHash.CreateHash(HashAlgorithmName.SHA1), "git-sha1");
#pragma warning restore CA5350
            hash.Append(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {length}\0")));
            return hash;
        }

        return null;
    }

    /// <summary>Feeds the next bytes.</summary>
    public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

    /// <summary>The hash of everything fed, lowercase hex.</summary>
    public string FinishHex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    /// <inheritdoc/>
    public void Dispose() => _hash.Dispose();
}
