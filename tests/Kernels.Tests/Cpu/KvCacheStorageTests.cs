using CsCheck;
using Serving.Kernels.Cpu;
using Serving.Kernels.Numerics;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Tests.Cpu;

/// <summary>The fp16 KV cache: how values are rounded on the way in, and that attention over it computes exactly
/// what it computes over an fp32 cache holding the same rounded values.</summary>
public sealed unsafe class KvCacheStorageTests
{
    [Fact]
    public void Halves_round_like_Half_inside_the_range()
    {
        Gen.Float[-65504f, 65504f].Sample(x =>
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)x), SaturatingHalf.Round(x)), iter: 100_000);
    }

    [Fact]
    public void An_fp16_cache_takes_half_the_bytes()
    {
        using var f32 = new KvCacheStorage(layers: 2, blocks: 3, blockSize: 16, kvHeads: 2, headDim: 64);
        using var f16 = new KvCacheStorage(layers: 2, blocks: 3, blockSize: 16, kvHeads: 2, headDim: 64, KvCacheDataType.F16);
        Assert.Equal(2L * 2 * 3 * 16 * 2 * 64 * sizeof(float), f32.Bytes);
        Assert.Equal(f32.Bytes / 2, f16.Bytes);
    }

    /// <summary>Each KV head's blocks are one run in a layer's arrays, so a sequence with consecutive blocks is one
    /// contiguous stretch of memory per head; every (layer, head, block) part is inside the buffer and no two
    /// overlap; <see cref="KvCacheStorage.Write"/> puts a token's values at its head's part of its block.</summary>
    [Fact]
    public void A_heads_blocks_are_contiguous_and_parts_do_not_overlap()
    {
        const int layers = 2, blocks = 5, blockSize = 4, kvHeads = 3, headDim = 8;
        using var cache = new KvCacheStorage(layers, blocks, blockSize, kvHeads, headDim);
        var partBytes = blockSize * headDim * sizeof(float);
        Assert.Equal(partBytes, cache.HeadBlockBytes);
        var starts = new HashSet<long>();
        var origin = cache.Keys(0);
        for (var layer = 0; layer < layers; layer++)
        {
            for (var head = 0; head < kvHeads; head++)
            {
                for (var block = 0; block < blocks; block++)
                {
                    var part = cache.HeadBlock(cache.Keys(layer), block, head);
                    Assert.True(part == cache.HeadStart(cache.Keys(layer), head) + ((long)block * partBytes));
                    var offset = part - origin;
                    Assert.Equal(0, offset % partBytes);
                    Assert.InRange(offset, 0, (cache.Bytes / 2) - partBytes);
                    Assert.True(starts.Add(offset));
                }
            }
        }

        using var k = new NativeBuffer<float>(kvHeads * headDim);
        using var v = new NativeBuffer<float>(kvHeads * headDim);
        for (var i = 0; i < kvHeads * headDim; i++)
        {
            k.Pointer[i] = i;
            v.Pointer[i] = 1000 + i;
        }

        var slot = (3 * blockSize) + 2;
        cache.Write(1, slot, k.Pointer, v.Pointer);
        for (var head = 0; head < kvHeads; head++)
        {
            var keys = (float*)cache.HeadBlock(cache.Keys(1), 3, head);
            var values = (float*)cache.HeadBlock(cache.Values(1), 3, head);
            for (var d = 0; d < headDim; d++)
            {
                Assert.Equal((head * headDim) + d, keys[(d * blockSize) + 2]);
                Assert.Equal(1000 + (head * headDim) + d, values[(2 * headDim) + d]);
            }
        }
    }

    /// <summary>Head widths 64 and 128 (register-tiled paths) and 24 (the general path, with a scalar tail), groups of
    /// one, four and eight query heads, contexts inside one block and across several scattered ones. Every seventh
    /// cached value is an fp16 subnormal (the widening leaves them 2^112 too small, inside fp32's subnormal range);
    /// a query element of 70,000 makes its item widen with the rescaling multiply instead (its queries cannot be
    /// scaled by 2^112 without overflow).</summary>
    [Theory]
    [InlineData(8, 1, 64, 16, 37, 0f)]
    [InlineData(8, 2, 128, 16, 50, 0f)]
    [InlineData(4, 4, 64, 16, 9, 0f)]
    [InlineData(4, 1, 24, 4, 23, 0f)]
    [InlineData(8, 2, 64, 16, 40, 70_000f)]
    public void Attention_over_fp16_equals_attention_over_the_rounded_values_in_fp32(int heads, int kvHeads, int headDim, int blockSize, int context, float queryOutlier)
    {
        var blocks = (context + blockSize - 1) / blockSize;
        using var f32 = new KvCacheStorage(1, 2 * blocks, blockSize, kvHeads, headDim);
        using var f16 = new KvCacheStorage(1, 2 * blocks, blockSize, kvHeads, headDim, KvCacheDataType.F16);
        var random = new Random(context);
        var width = kvHeads * headDim;
        using var k = new NativeBuffer<float>(width);
        using var v = new NativeBuffer<float>(width);
        using var kRounded = new NativeBuffer<float>(width);
        using var vRounded = new NativeBuffer<float>(width);
        var table = Enumerable.Range(0, blocks).Select(b => (2 * blocks) - 1 - (2 * b)).ToArray();
        for (var p = 0; p < context; p++)
        {
            for (var i = 0; i < width; i++)
            {
                var tiny = i % 7 == 3 ? 1e-6 : 1;
                k.Pointer[i] = (float)(((random.NextDouble() * 4) - 2) * tiny);
                v.Pointer[i] = (float)(((random.NextDouble() * 4) - 2) * tiny);
                kRounded.Pointer[i] = (float)BitConverter.UInt16BitsToHalf(SaturatingHalf.Round(k.Pointer[i]));
                vRounded.Pointer[i] = (float)BitConverter.UInt16BitsToHalf(SaturatingHalf.Round(v.Pointer[i]));
            }

            var slot = (table[p / blockSize] * blockSize) + (p % blockSize);
            f16.Write(0, slot, k.Pointer, v.Pointer);
            f32.Write(0, slot, kRounded.Pointer, vRounded.Pointer);
        }

        var step = new StepInput(1, 1, blocks, blockSize);
        step.AddSequence([1], context - 1, table, 1);
        using var query = new NativeBuffer<float>(heads * headDim);
        for (var i = 0; i < heads * headDim; i++)
        {
            query.Pointer[i] = (float)((random.NextDouble() * 2) - 1);
        }

        if (queryOutlier != 0)
        {
            query.Pointer[headDim + 5] = queryOutlier;
        }

        using var expected = new NativeBuffer<float>(heads * headDim);
        using var actual = new NativeBuffer<float>(heads * headDim);
        using var job = new AttentionJob(heads, kvHeads, headDim, context, blockSize, threads: 1);
        job.Set(step, query.Pointer, expected.Pointer, f32, 0);
        job.Execute(0);
        job.Set(step, query.Pointer, actual.Pointer, f16, 0);
        job.Execute(0);
        for (var i = 0; i < heads * headDim; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected.Pointer[i]), BitConverter.SingleToInt32Bits(actual.Pointer[i]));
        }

        Assert.NotEqual(0f, actual.Pointer[0]);
    }
}
