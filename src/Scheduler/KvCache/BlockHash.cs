using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Serving.Scheduler.KvCache;

/// <summary>
/// The identity of a full KV block's content: the first 128 bits of SHA-256 over the parent block's hash and the
/// block's token ids. Chaining makes the hash stand for the whole prefix up to and including the block, since K/V
/// at a position depends on every earlier token. A cryptographic hash (not <see cref="HashCode"/>) because a
/// collision would silently hand a request another prompt's KV.
/// </summary>
public readonly record struct BlockHash(ulong High, ulong Low)
{
    // Token buffers up to this many bytes are hashed from the stack (block size 16 needs 81 bytes).
    private const int StackLimit = 1024;

    /// <summary>The hash of a full block holding <paramref name="tokens"/> whose preceding block hashes to
    /// <paramref name="parent"/> (none for the first block of a sequence).</summary>
    public static BlockHash Chain(BlockHash? parent, ReadOnlySpan<int> tokens)
    {
        // Layout: 1 marker byte (is there a parent), 16 parent bytes, 4 little-endian bytes per token. The marker
        // keeps "no parent" distinct from a parent whose hash happens to be all zeros.
        var length = 17 + (tokens.Length * 4);
        var buffer = length <= StackLimit ? stackalloc byte[length] : new byte[length];
        buffer[0] = parent.HasValue ? (byte)1 : (byte)0;
        var p = parent.GetValueOrDefault();
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[1..], p.High);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[9..], p.Low);
        for (var i = 0; i < tokens.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer[(17 + (i * 4))..], tokens[i]);
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer, digest);
        return new BlockHash(
            BinaryPrimitives.ReadUInt64LittleEndian(digest),
            BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]));
    }

    /// <summary>Hex form, for logs.</summary>
    public override string ToString() => $"{High:x16}{Low:x16}";
}
