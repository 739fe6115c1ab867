using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// What the interleaved ("x8") integer kernels share: the repacked buffer, its geometry and scale form, and the walk
/// over tiles of four tokens × 16-row pairs (see <see cref="Compute"/>). Subclasses fill the buffer
/// (<see cref="RepackGroup"/>) and compute one row group for one or four tokens, or a pair for four, or (where
/// <see cref="EightTokenTiles"/>) for two tiles at once; a virtual call per row group (64 blocks of work) costs nothing
/// measurable.
/// </summary>
internal abstract unsafe class InterleavedMatMul : ISectionedMatMulKernel, IDisposable
{
    private const int TokenTile = 4;

    /// <summary>Tokens whose activations one pass over the rows serves: 64 tokens of the widest input (5,632
    /// columns) are 352 KiB of int8, inside L2. With 32, a step of 64 sequences read every weight from memory twice
    /// (`bench throughput` at 64 requests, alternated: 64, 67, 76 → 66, 79, 77 % of the int8 ceiling; 512-token
    /// prompts unchanged).</summary>
    private const int TokenBlock = 64;

    /// <summary>How far ahead of the block being read the section kernels (one to three tokens) request each of
    /// their four streams. The hardware prefetchers alone kept too few bytes in flight, most of all in the first
    /// hundreds of KiB after a product starts, which is where a decode step's 2–13 MB products spend much of their
    /// time; with every line requested this far ahead, a whole decode step took 7–12 % less (Q4_0 and Q8_0,
    /// in-process alternation; 1,024 and 2,560 bytes gained less, see docs/benchmarks.md).</summary>
    protected const int StreamPrefetchBytes = 1536;

    /// <summary>The repacked matrix's own allocation, when it has no arena.</summary>
    private readonly NativeBuffer<byte>? _owned;

    private readonly byte* _packed;

    /// <param name="weight">The stored matrix.</param>
    /// <param name="columnsPerBlock">Columns of one block: 32, or a k-quant's 256-column super-block.</param>
    /// <param name="groupBlockBytes">Bytes of one row group's block.</param>
    /// <param name="arena">Where to put the repacked matrix (a model's matrices share one); null: an allocation of
    /// its own.</param>
    protected InterleavedMatMul(WeightTensor weight, int columnsPerBlock, int groupBlockBytes, WeightArena? arena)
    {
        if (!InterleavedLayout.CpuSupports(weight.Type))
        {
            throw new PlatformNotSupportedException($"the interleaved {weight.Type} kernels need AVX2 and FMA");
        }

        Weight = weight;
        Rows = (int)weight.Rows;
        Columns = (int)weight.Columns;
        Blocks = Columns / columnsPerBlock;
        GroupBlockBytes = groupBlockBytes;
        var bytes = PackedBytes(weight.Rows, Blocks, GroupBlockBytes);
        if (arena is null)
        {
            _owned = new NativeBuffer<byte>(bytes, clear: false);
            _packed = _owned.Pointer;
        }
        else
        {
            _packed = arena.Allocate(bytes);
        }
    }

    public WeightTensor Weight { get; }

    public int Rows { get; }

    public bool UsesQuantizedInput => true;

    /// <summary>Four: with one stream per core the one-token kernels read 20–25 GB/s of weights per core where a
    /// bare read loop gets 30; with four, 26–30 (and 48–54 GB/s on two cores instead of 36–42). Sections closer
    /// than a few hundred KiB apart were slower than one stream: each stream's prefetcher runs on into the next.</summary>
    public int Sections => 4;

    protected int Columns { get; }

    protected int Blocks { get; }

    protected int GroupBlockBytes { get; }

    public void Dispose() => _owned?.Dispose();

    /// <summary>Requests the <paramref name="stride"/> bytes starting <paramref name="offset"/> bytes into each of the
    /// four streams of a section kernel, one request per 64 bytes, where the CPU gains from it
    /// (<see cref="StreamPrefetch"/>). Called once per block with the offset
    /// <see cref="StreamPrefetchBytes"/> past the block being read, consecutive calls leave no cache line out: a
    /// stream whose lines were requested only in part read much slower than one left to the hardware prefetchers
    /// alone (one request per 144-byte Q4_0 block: a decode step took 17.3–18.6 ms against 11.7–12.0 with two).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void PrefetchStreams(byte* g0, byte* g1, byte* g2, byte* g3, int offset, int stride)
    {
        if (!Sse.IsSupported || !StreamPrefetch.Enabled)
        {
            return;
        }

        for (var p = offset; p < offset + stride; p += 64)
        {
            Sse.Prefetch0(g0 + p);
            Sse.Prefetch0(g1 + p);
            Sse.Prefetch0(g2 + p);
            Sse.Prefetch0(g3 + p);
        }
    }

    /// <summary>
    /// Tokens go in blocks of up to <see cref="TokenBlock"/> (whose int8 activations stay in L2); within a block,
    /// rows go by pairs of groups (16 rows) and every tile of four tokens passes over a pair before the next pair,
    /// so each weight byte comes from memory once per token block and from L1 or L2 for its other tiles. While it
    /// computes the tiles of one pair the kernel prefetches the next pair, a share per tile spread over its blocks
    /// (a burst of prefetches fills the miss buffers and stalls), so the first tile of a pair does not wait for
    /// memory. (With tiles outermost, every tile re-streamed megabytes of rows from L3 or memory and the
    /// first pass over new rows was latency-bound.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Compute(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd)
    {
        var fullTiles = input.Tokens / TokenTile;
        for (var tile = 0; tile < fullTiles; tile += TokenBlock / TokenTile)
        {
            ComputeTiles(input, y, ldy, rowStart, rowEnd, tile, Math.Min(fullTiles, tile + (TokenBlock / TokenTile)));
        }

        var q = input.Quantized!;
        var firstLeft = fullTiles * TokenTile;
        if (firstLeft == input.Tokens)
        {
            return;
        }

        // The one to three tokens after the last whole tile: four adjacent groups at a time through the section
        // kernels (sections one group apart), which keep more work in flight than one group at a time.
        long groupBytes = Blocks * GroupBlockBytes;
        var row = rowStart;
        for (; row + (4 * InterleavedLayout.Rows) <= rowEnd; row += 4 * InterleavedLayout.Rows)
        {
            var group = GroupStart(row / InterleavedLayout.Rows);
            var t = firstLeft;
            for (; TwoTokenSections && t + 1 < input.Tokens; t += 2)
            {
                Group2x4(group, groupBytes, q, t, y + ((long)t * ldy) + row, ldy, InterleavedLayout.Rows);
            }

            for (; t < input.Tokens; t++)
            {
                Group1x4(group, groupBytes, q, t, y + ((long)t * ldy) + row, InterleavedLayout.Rows);
            }
        }

        for (; row < rowEnd; row += InterleavedLayout.Rows)
        {
            var group = GroupStart(row / InterleavedLayout.Rows);
            for (var t = firstLeft; t < input.Tokens; t++)
            {
                Group1(group, q, t, y + ((long)t * ldy) + row);
            }
        }
    }

    public void ComputeSections(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd, int sectionRows)
    {
        var q = input.Quantized!;
        var sectionBytes = (long)sectionRows / InterleavedLayout.Rows * Blocks * GroupBlockBytes;
        for (var row = rowStart; row < rowEnd; row += InterleavedLayout.Rows)
        {
            var group = GroupStart(row / InterleavedLayout.Rows);
            var t = 0;
            for (; TwoTokenSections && t + 1 < input.Tokens; t += 2)
            {
                Group2x4(group, sectionBytes, q, t, y + ((long)t * ldy) + row, ldy, sectionRows);
            }

            for (; t < input.Tokens; t++)
            {
                Group1x4(group, sectionBytes, q, t, y + ((long)t * ldy) + row, sectionRows);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ComputeTiles(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd, int firstTile, int endTile)
    {
        var q = input.Quantized!;
        long groupBytes = Blocks * GroupBlockBytes;
        var prefetchShare = (int)((((2 * groupBytes) / (endTile - firstTile)) + 63) & ~63L);
        for (var row = rowStart; row < rowEnd; row += 2 * InterleavedLayout.Rows)
        {
            var first = GroupStart(row / InterleavedLayout.Rows);
            var paired = row + (2 * InterleavedLayout.Rows) <= rowEnd;
            // The pair after the last one asked for too (while the matrix has one): a thread's next claim of rows
            // usually starts there (MatMulJob), and its first tile would otherwise wait for memory (bench kernels,
            // 32 tokens: +5 to +12 % in five alternations).
            var next = row + (4 * InterleavedLayout.Rows) <= Rows ? first + (2 * groupBytes) : null;
            for (var tile = firstTile; tile < endTile;)
            {
                var t = tile * TokenTile;
                var output = y + ((long)t * ldy) + row;
                if (!paired)
                {
                    Group4(first, q, t, output, ldy);
                    tile++;
                    continue;
                }

                var prefetch = next != null ? next + ((long)(tile - firstTile) * prefetchShare) : null;
                if (EightTokenTiles && tile + 1 < endTile)
                {
                    Group8Pair(first, first + groupBytes, q, t, output, ldy, prefetch, next != null ? 2 * prefetchShare / 64 : 0);
                    tile += 2;
                }
                else
                {
                    Group4Pair(first, first + groupBytes, q, t, output, ldy, prefetch, next != null ? prefetchShare / 64 : 0);
                    tile++;
                }
            }
        }
    }

    /// <summary>The prefetches of block <paramref name="block"/> out of <paramref name="blocks"/>: lines
    /// <paramref name="block"/>, <paramref name="block"/> + <paramref name="blocks"/>, … of the tile's share, so a
    /// share larger than one line per block (few tiles per token block: small batches) is still fetched whole, spread
    /// evenly over the tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void PrefetchShare(byte* prefetch, int lines, int block, int blocks)
    {
        for (var line = block; line < lines; line += blocks)
        {
            Sse.Prefetch0(prefetch + ((long)line * 64));
        }
    }

    /// <summary>Stores a tile of four tokens' outputs (rows <paramref name="ldy"/> apart) for one row group
    /// (<paramref name="a0"/>..<paramref name="a3"/>) and, where <paramref name="pair"/>, the next
    /// (<paramref name="b0"/>..<paramref name="b3"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void StoreTile(float* y, int ldy, bool pair, Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> b0, Vector256<float> b1, Vector256<float> b2, Vector256<float> b3)
    {
        a0.Store(y);
        a1.Store(y + ldy);
        a2.Store(y + (2 * ldy));
        a3.Store(y + (3 * ldy));
        if (pair)
        {
            b0.Store(y + InterleavedLayout.Rows);
            b1.Store(y + ldy + InterleavedLayout.Rows);
            b2.Store(y + (2 * ldy) + InterleavedLayout.Rows);
            b3.Store(y + (3 * ldy) + InterleavedLayout.Rows);
        }
    }

    /// <summary>Stores eight tokens' outputs for a pair of row groups (16 adjacent floats per token), rows
    /// <paramref name="ldy"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void StoreEightTokens(float* y, int ldy, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> a4, Vector512<float> a5, Vector512<float> a6, Vector512<float> a7)
    {
        a0.Store(y);
        a1.Store(y + ldy);
        a2.Store(y + (2 * ldy));
        a3.Store(y + (3 * ldy));
        a4.Store(y + (4 * ldy));
        a5.Store(y + (5 * ldy));
        a6.Store(y + (6 * ldy));
        a7.Store(y + (7 * ldy));
    }

    /// <summary>Four activation bytes repeated in every 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static Vector256<sbyte> Broadcast(sbyte* x) => Vector256.Create(*(int*)x).AsSByte();

    /// <summary>First byte of row group <paramref name="group"/> in the repacked buffer.</summary>
    protected byte* GroupStart(long group) => _packed + (group * Blocks * GroupBlockBytes);

    /// <summary>Bytes of the repacked form of <paramref name="weight"/>: <paramref name="groupBlockBytes"/> per row
    /// group and block of <paramref name="columnsPerBlock"/> columns.</summary>
    internal static long PackedBytes(WeightTensor weight, int columnsPerBlock, int groupBlockBytes) =>
        PackedBytes(weight.Rows, (int)(weight.Columns / columnsPerBlock), groupBlockBytes);

    private static long PackedBytes(long rows, int blocks, int groupBlockBytes) => rows / InterleavedLayout.Rows * blocks * groupBlockBytes;

    /// <summary>Which fp16 conversion the group blocks' fp16 units allow; set by <see cref="Repack"/>.</summary>
    internal BlockScaleForm Scales { get; private set; }

    /// <summary>
    /// Repacks every row group, in parallel; subclass constructors call it once. A zero fp16 unit (one of the
    /// <see cref="ScaleUnits"/> at the start of every group block: a block scale, or a k-quant super-block's d or dmin)
    /// makes what it multiplies contribute exactly zero; when no unit is subnormal or non-finite, such units become 1
    /// and what they multiply is rewritten to contribute exactly zero anyway (<see cref="ZeroScaled"/>), so every unit
    /// is normal and converts with integer operations alone: the float multiply it saves shares the two vector pipes
    /// that the integer dot products are bound by.
    /// </summary>
    protected void Repack()
    {
        RepackGroups();
        var groups = Rows / InterleavedLayout.Rows;
        var units = ScaleUnits;
        var form = BlockScaleForm.Normal;
        for (long g = 0; g < groups; g++)
        {
            for (var b = 0; b < Blocks; b++)
            {
                var scales = (ushort*)(GroupStart(g) + (b * GroupBlockBytes));
                for (var u = 0; u < units; u++)
                {
                    var exponent = scales[u] & 0x7C00;
                    if (exponent == 0x7C00)
                    {
                        form = BlockScaleForm.Any;
                    }
                    else if (exponent == 0 && (scales[u] & 0x03FF) != 0 && form == BlockScaleForm.Normal)
                    {
                        form = BlockScaleForm.Finite;
                    }
                }
            }
        }

        if (form == BlockScaleForm.Normal)
        {
            for (long g = 0; g < groups; g++)
            {
                for (var b = 0; b < Blocks; b++)
                {
                    var block = GroupStart(g) + (b * GroupBlockBytes);
                    for (var u = 0; u < units; u++)
                    {
                        if ((((ushort*)block)[u] & 0x7FFF) == 0)
                        {
                            ((ushort*)block)[u] = 0x3C00;
                            ZeroScaled(block, u);
                        }
                    }
                }
            }
        }

        Scales = form;
    }

    /// <summary>How many fp16 units open every group block (their conversion is what <see cref="Scales"/> chooses):
    /// by default the eight rows' block scales.</summary>
    protected virtual int ScaleUnits => InterleavedLayout.Rows;

    /// <summary>Writes every row group from the stored weights, in parallel.</summary>
    private void RepackGroups() => Parallel.For(0, Rows / InterleavedLayout.Rows, RepackGroup);

    /// <summary>Rewrites what fp16 unit <paramref name="unit"/> of the group block at <paramref name="block"/>
    /// multiplies so that its contribution is exactly zero whatever the unit's value; called by <see cref="Repack"/>
    /// only, which sets the unit to 1.</summary>
    protected abstract void ZeroScaled(byte* block, int unit);

    /// <summary>Writes row group <paramref name="group"/> (8 rows, every block) from the stored weights.</summary>
    protected abstract void RepackGroup(int group);

    /// <summary>Eight outputs (one row group) for one token.</summary>
    protected abstract void Group1(byte* group, QuantizedActivations q, int token, float* y);

    /// <summary>One token's outputs for four row groups <paramref name="sectionBytes"/> apart (outputs
    /// <paramref name="sectionRows"/> apart), their blocks read in step; per output the operations are those of
    /// <see cref="Group1"/>.</summary>
    protected abstract void Group1x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows);

    /// <summary>Eight outputs for each of four consecutive tokens, rows <paramref name="ldy"/> apart.</summary>
    protected abstract void Group4(byte* group, QuantizedActivations q, int token, float* y, int ldy);

    /// <summary>Two adjacent row groups (sixteen outputs) for four tokens, sharing each broadcast activation word
    /// between both groups; the result per output must equal <see cref="Group4"/>'s (batch invariance).</summary>
    /// <remarks>The kernel also prefetches <paramref name="prefetchLines"/> cache lines from
    /// <paramref name="prefetch"/> (<see cref="PrefetchShare"/>).</remarks>
    protected abstract void Group4Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines);

    /// <summary>Whether the walks hand pairs of tokens to <see cref="Group2x4"/>.</summary>
    protected virtual bool TwoTokenSections => false;

    /// <summary>Whether the walks hand pairs of four-token tiles to <see cref="Group8Pair"/>.</summary>
    protected virtual bool EightTokenTiles => false;

    /// <summary>Two tokens' outputs for four row groups <paramref name="sectionBytes"/> apart, each weight chunk
    /// unpacked once for both; called only where <see cref="TwoTokenSections"/>; per output equal to
    /// <see cref="Group1x4"/>.</summary>
    protected virtual void Group2x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int ldy, int sectionRows) =>
        throw new NotSupportedException("this kernel has no two-token section kernel");

    /// <summary>Two adjacent row groups for eight tokens (two tiles), called only where <see cref="EightTokenTiles"/>;
    /// the result per output must equal <see cref="Group4"/>'s. It prefetches <paramref name="prefetchLines"/>
    /// lines from <paramref name="prefetch"/> as <see cref="Group4Pair"/> does.</summary>
    protected virtual void Group8Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines) =>
        throw new NotSupportedException("this kernel has no eight-token tile");
}
