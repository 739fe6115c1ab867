using System.Buffers;
using System.Diagnostics;
using System.Net;

namespace Serving.Server.Models.HuggingFace;

/// <summary>Fetches one file's content into its blob: streams into <c>{blob}.incomplete</c> through a pooled buffer,
/// resumes a partial file with a <c>Range</c> request, retries transient failures, checks size and hash against the
/// Hub's metadata, and only then renames the file into place.</summary>
internal sealed class BlobTransfer(HuggingFaceHubClient client, HubRetry retry, ILogger logger)
{
    private const int BufferSize = 1 << 20;

    /// <summary>A long transfer reports how far it got this often, never per chunk.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(15);

    /// <summary>Downloads <paramref name="metadata"/>'s content to <paramref name="blobPath"/>. A cancelled or failed
    /// transfer leaves the partial file for the next attempt to resume; a corrupt one is deleted.</summary>
    public async Task DownloadAsync(HubFileMetadata metadata, string repoPath, string blobPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var incomplete = blobPath + ".incomplete";
        Directory.CreateDirectory(Path.GetDirectoryName(blobPath)!);
        var started = Stopwatch.GetTimestamp();
        var result = await retry.RunAsync($"Download of {repoPath}", token => TransferOnceAsync(metadata, repoPath, incomplete, token), cancellationToken);

        if (metadata.Size is { } expected && result.Length != expected)
        {
            File.Delete(incomplete);
            throw new HuggingFaceHubException($"{repoPath}: size mismatch: expected {expected} bytes, got {result.Length}; the download was deleted");
        }

        if (result.Hash is null)
        {
            logger.LogWarning("{File}: ETag {Etag} is neither a SHA-256 nor a git SHA-1, so only its size was checked", repoPath, metadata.Etag);
        }
        else if (!string.Equals(result.Hash, metadata.Etag, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(incomplete);
            throw new HuggingFaceHubException(
                $"{repoPath}: checksum mismatch: expected {result.Algorithm} {metadata.Etag}, got {result.Hash}; the corrupt download was deleted");
        }

        File.Move(incomplete, blobPath, overwrite: true);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        logger.LogInformation("Downloaded {File}: {Bytes} bytes in {Seconds:F1} s, {Algorithm} verified", repoPath, result.Length, seconds, result.Algorithm ?? "size only");
    }

    private async Task<TransferResult> TransferOnceAsync(HubFileMetadata metadata, string repoPath, string incomplete, CancellationToken cancellationToken)
    {
        // FileShare.None also keeps a second process off the same partial file.
        await using var file = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        var size = metadata.Size;
        var offset = file.Length;
        if (offset > size)
        {
            file.SetLength(0);
            offset = 0;
        }

        var hash = ContentHash.ForEtag(metadata.Etag, size);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await HashPrefixAsync(file, offset, hash, buffer, cancellationToken);
            if (size is not null && offset == size)
            {
                return new TransferResult(offset, hash?.FinishHex(), hash?.Algorithm);
            }

            using var response = await client.GetFileAsync(metadata.DownloadUri, offset, repoPath, cancellationToken);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                file.SetLength(0);
                throw new HuggingFaceHubException($"{repoPath}: the server refused to resume at byte {offset}; starting over", isTransient: true);
            }

            if (offset > 0 && (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != offset))
            {
                logger.LogInformation("{File}: the server did not resume at byte {Offset}; starting over", repoPath, offset);
                file.SetLength(0);
                offset = 0;
                hash?.Dispose();
                hash = ContentHash.ForEtag(metadata.Etag, size);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new HuggingFaceHubException($"{repoPath}: unexpected {(int)response.StatusCode} answer to a range request", isTransient: true);
                }
            }

            if (offset > 0)
            {
                logger.LogInformation("Resuming {File} at byte {Offset} of {Size}", repoPath, offset, size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?");
            }
            else
            {
                logger.LogInformation("Downloading {File} ({Size} bytes)", repoPath, size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown");
            }

            file.Position = offset;
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var lastReport = Stopwatch.GetTimestamp();
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                hash?.Append(buffer.AsSpan(0, read));
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                offset += read;
                if (offset > size)
                {
                    throw new HuggingFaceHubException($"{repoPath}: the server sent more than the {size} bytes it announced");
                }

                if (Stopwatch.GetElapsedTime(lastReport) >= ProgressInterval)
                {
                    lastReport = Stopwatch.GetTimestamp();
                    logger.LogInformation("{File}: {Bytes} of {Size} bytes", repoPath, offset, size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?");
                }
            }

            await file.FlushAsync(cancellationToken);
            if (offset < size)
            {
                throw new IOException($"{repoPath}: the transfer ended at byte {offset} of {size}");
            }

            return new TransferResult(offset, hash?.FinishHex(), hash?.Algorithm);
        }
        finally
        {
            hash?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task HashPrefixAsync(FileStream file, long length, ContentHash? hash, byte[] buffer, CancellationToken cancellationToken)
    {
        if (hash is null || length == 0)
        {
            return;
        }

        file.Position = 0;
        var remaining = length;
        while (remaining > 0)
        {
            var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(BufferSize, remaining)), cancellationToken);
            if (read == 0)
            {
                throw new IOException($"{file.Name}: shorter than expected while re-reading it");
            }

            hash.Append(buffer.AsSpan(0, read));
            remaining -= read;
        }
    }

    private readonly record struct TransferResult(long Length, string? Hash, string? Algorithm);
}
