using Serving.Kernels.Cpu;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Tests.Cpu;

public sealed unsafe class AttentionJobTests
{
    /// <summary>The key kernels index blocks by the block size the job was built for, so a step or cache with another
    /// block size is refused instead of read at the wrong slots.</summary>
    [Fact]
    public void A_step_or_cache_with_another_block_size_is_refused()
    {
        using var job = new AttentionJob(heads: 4, kvHeads: 2, headDim: 8, maxContext: 64, blockSize: 16, threads: 1);
        using var cache16 = new KvCacheStorage(layers: 1, blocks: 4, blockSize: 16, kvHeads: 2, headDim: 8);
        using var cache8 = new KvCacheStorage(layers: 1, blocks: 8, blockSize: 8, kvHeads: 2, headDim: 8);
        using var buffer = new NativeBuffer<float>(64);
        var step16 = new StepInput(1, 1, 4, 16);
        step16.AddSequence([1], 0, [0], 1);
        var step8 = new StepInput(1, 1, 8, 8);
        step8.AddSequence([1], 0, [0], 1);

        job.Set(step16, buffer.Pointer, buffer.Pointer, cache16, 0);
        Assert.Contains("blocks of 16 tokens", Assert.Throws<ArgumentException>(() => job.Set(step8, buffer.Pointer, buffer.Pointer, cache16, 0)).Message);
        Assert.Throws<ArgumentException>(() => job.Set(step16, buffer.Pointer, buffer.Pointer, cache8, 0));
    }

    /// <summary>A decode step (one new token per sequence) whose items rotate their own query and key heads and
    /// write their own K/V head gives the same attention outputs, the same rotated queries and the same cache bytes,
    /// bit for bit, as RoPE and the K/V write of whole tokens before the job: three sequences with other contexts and
    /// scattered blocks, 1–3 threads, fp16 and fp32 caches, groups of 1, 4 and 8, head widths 64 and 24, both RoPE
    /// layouts.</summary>
    [Theory]
    [InlineData(8, 1, 64, 16, KvCacheDataType.F16, RopeLayout.Interleaved, 2)]
    [InlineData(8, 2, 64, 16, KvCacheDataType.F32, RopeLayout.HalfSplit, 3)]
    [InlineData(4, 4, 24, 4, KvCacheDataType.F16, RopeLayout.HalfSplit, 1)]
    [InlineData(8, 2, 24, 4, KvCacheDataType.F32, RopeLayout.Interleaved, 2)]
    public void Rotating_and_writing_inside_the_items_equals_doing_it_before(int heads, int kvHeads, int headDim, int blockSize, KvCacheDataType dataType, RopeLayout layout, int threads)
    {
        var config = Runner.RunnerAgreementTests.SmallConfig() with
        {
            HiddenSize = heads * headDim, HeadCount = heads, KvHeadCount = kvHeads, HeadDim = headDim, RopeDimensions = headDim, MaxPositions = 4096, RopeLayout = layout,
        };
        var rope = new RotaryEmbedding(config);
        int[] contexts = [1, 37, 70];
        const int blocksPerSequence = 24;
        var blocks = contexts.Length * blocksPerSequence;
        using var before = new KvCacheStorage(2, blocks, blockSize, kvHeads, headDim, dataType);
        using var inside = new KvCacheStorage(2, blocks, blockSize, kvHeads, headDim, dataType);
        var random = new Random(heads + headDim + blockSize);
        var tables = Enumerable.Range(0, contexts.Length)
            .Select(s => Enumerable.Range(0, blocksPerSequence).Select(b => (b * contexts.Length) + ((s + b) % contexts.Length)).ToArray())
            .ToArray();
        var qDim = heads * headDim;
        var kvDim = kvHeads * headDim;
        using var k = new NativeBuffer<float>(contexts.Length * kvDim);
        using var v = new NativeBuffer<float>(contexts.Length * kvDim);
        for (var s = 0; s < contexts.Length; s++)
        {
            for (var p = 0; p < contexts[s] - 1; p++)
            {
                Fill(k.Pointer, kvDim, random);
                Fill(v.Pointer, kvDim, random);
                var slot = (tables[s][p / blockSize] * blockSize) + (p % blockSize);
                before.Write(1, slot, k.Pointer, v.Pointer);
                inside.Write(1, slot, k.Pointer, v.Pointer);
            }
        }

        var step = new StepInput(contexts.Length, contexts.Length, blocksPerSequence, blockSize);
        for (var s = 0; s < contexts.Length; s++)
        {
            step.AddSequence([s], contexts[s] - 1, tables[s], 1);
        }

        using var q = new NativeBuffer<float>(contexts.Length * qDim);
        using var cos = new NativeBuffer<float>(contexts.Length * rope.Half);
        using var sin = new NativeBuffer<float>(contexts.Length * rope.Half);
        Fill(q.Pointer, contexts.Length * qDim, random);
        Fill(k.Pointer, contexts.Length * kvDim, random);
        Fill(v.Pointer, contexts.Length * kvDim, random);
        for (var t = 0; t < contexts.Length; t++)
        {
            rope.Angles(contexts[t] - 1, cos.Pointer + (t * rope.Half), sin.Pointer + (t * rope.Half));
        }

        using var qBefore = Copy(q, contexts.Length * qDim);
        using var kBefore = Copy(k, contexts.Length * kvDim);
        using var qInside = Copy(q, contexts.Length * qDim);
        using var kInside = Copy(k, contexts.Length * kvDim);
        for (var t = 0; t < contexts.Length; t++)
        {
            rope.Apply(qBefore.Pointer + (t * qDim), heads, cos.Pointer + (t * rope.Half), sin.Pointer + (t * rope.Half));
            rope.Apply(kBefore.Pointer + (t * kvDim), kvHeads, cos.Pointer + (t * rope.Half), sin.Pointer + (t * rope.Half));
            before.Write(1, step.SlotMapping[t], kBefore.Pointer + (t * kvDim), v.Pointer + (t * kvDim));
        }

        using var expected = new NativeBuffer<float>(contexts.Length * qDim);
        using var actual = new NativeBuffer<float>(contexts.Length * qDim);
        using var pool = new WorkerPool(threads);
        using var job = new AttentionJob(heads, kvHeads, headDim, blocksPerSequence * blockSize, blockSize, threads);
        job.Set(step, qBefore.Pointer, expected.Pointer, before, 1);
        pool.Run(job);
        job.Set(step, qInside.Pointer, actual.Pointer, inside, 1);
        job.RotateAndWriteInItems(rope, kInside.Pointer, v.Pointer, cos.Pointer, sin.Pointer);
        pool.Run(job);

        AssertSameBits(expected, actual, contexts.Length * qDim);
        AssertSameBits(qBefore, qInside, contexts.Length * qDim);
        Assert.True(new ReadOnlySpan<byte>(before.Keys(0), (int)(before.Bytes / 2)).SequenceEqual(new ReadOnlySpan<byte>(inside.Keys(0), (int)(inside.Bytes / 2))));
        Assert.True(new ReadOnlySpan<byte>(before.Values(0), (int)(before.Bytes / 2)).SequenceEqual(new ReadOnlySpan<byte>(inside.Values(0), (int)(inside.Bytes / 2))));
    }

    /// <summary>Items may only write the K/V they read themselves when no sequence brings two new tokens.</summary>
    [Fact]
    public void Rotating_inside_the_items_is_refused_for_a_sequence_with_several_new_tokens()
    {
        var config = Runner.RunnerAgreementTests.SmallConfig() with { HiddenSize = 16, HeadCount = 2, KvHeadCount = 2, HeadDim = 8, RopeDimensions = 8 };
        using var job = new AttentionJob(heads: 2, kvHeads: 2, headDim: 8, maxContext: 64, blockSize: 16, threads: 1);
        using var cache = new KvCacheStorage(layers: 1, blocks: 4, blockSize: 16, kvHeads: 2, headDim: 8);
        using var buffer = new NativeBuffer<float>(64);
        var step = new StepInput(2, 1, 4, 16);
        step.AddSequence([1, 2], 0, [0], 1);
        job.Set(step, buffer.Pointer, buffer.Pointer, cache, 0);
        var refusal = Assert.Throws<InvalidOperationException>(() => job.RotateAndWriteInItems(new RotaryEmbedding(config), buffer.Pointer, buffer.Pointer, buffer.Pointer, buffer.Pointer));
        Assert.Contains("one new token per sequence", refusal.Message);
    }

    /// <summary>The softmax subtracts the true maximum score wherever it lies (first vector, any of the parallel
    /// chains, the remainder, the scalar tail): one key scores 200 and another 195 against scores of 0, so the output
    /// is 1 / (1 + e^−5) of the first one's value; with the maximum missed, both weights would be clamped to e^88 and
    /// the output would be one half. The largest score at every position of every context from 1 to 150, fp16 and
    /// fp32 caches, groups of 8 (the 512-bit key pairs) and 1.</summary>
    [Theory]
    [InlineData(8, KvCacheDataType.F16)]
    [InlineData(8, KvCacheDataType.F32)]
    [InlineData(1, KvCacheDataType.F32)]
    public void The_softmax_finds_the_largest_score_at_any_position(int group, KvCacheDataType dataType)
    {
        const int headDim = 64;
        const int blockSize = 16;
        const int maxContext = 160;
        using var cache = new KvCacheStorage(1, maxContext / blockSize, blockSize, 1, headDim, dataType);
        using var job = new AttentionJob(group, 1, headDim, maxContext, blockSize, threads: 1);
        using var q = new NativeBuffer<float>(group * headDim);
        using var output = new NativeBuffer<float>(group * headDim);
        using var key = new NativeBuffer<float>(headDim);
        using var value = new NativeBuffer<float>(headDim);
        for (var h = 0; h < group; h++)
        {
            q.Pointer[h * headDim] = 40f;
        }

        var table = Enumerable.Range(0, maxContext / blockSize).Reverse().ToArray();
        int Slot(int position) => (table[position / blockSize] * blockSize) + (position % blockSize);
        void WriteKey(int position, float k0, float v)
        {
            key.Pointer[0] = k0;
            new Span<float>(value.Pointer, headDim).Fill(v);
            cache.Write(0, Slot(position), key.Pointer, value.Pointer);
        }

        for (var p = 0; p < maxContext; p++)
        {
            WriteKey(p, 0f, 0f);
        }

        var random = new Random(group);
        var expected = 1 / (1 + Math.Exp(-5));
        var step = new StepInput(1, 1, table.Length, blockSize);
        for (var context = 1; context <= 150; context++)
        {
            for (var first = 0; first < context; first++)
            {
                // Scores: 40 · 40 / √64 = 200 for the first key, 40 · 39 / 8 = 195 for the second, 0 for the rest.
                var second = context == 1 ? -1 : (first + 1 + random.Next(context - 1)) % context;
                WriteKey(first, 40f, 1f);
                if (second >= 0)
                {
                    WriteKey(second, 39f, 0f);
                }

                step.Clear();
                step.AddSequence([1], context - 1, table, 1);
                job.Set(step, q.Pointer, output.Pointer, cache, 0);
                job.Execute(0);
                for (var i = 0; i < group * headDim; i++)
                {
                    Assert.Equal(context == 1 ? 1 : expected, output.Pointer[i], 1e-5);
                }

                WriteKey(first, 0f, 0f);
                if (second >= 0)
                {
                    WriteKey(second, 0f, 0f);
                }
            }
        }
    }

    private static void Fill(float* x, int n, Random random)
    {
        for (var i = 0; i < n; i++)
        {
            x[i] = (float)((random.NextDouble() * 4) - 2);
        }
    }

    private static NativeBuffer<float> Copy(NativeBuffer<float> source, int n)
    {
        var copy = new NativeBuffer<float>(n);
        new ReadOnlySpan<float>(source.Pointer, n).CopyTo(new Span<float>(copy.Pointer, n));
        return copy;
    }

    private static void AssertSameBits(NativeBuffer<float> expected, NativeBuffer<float> actual, int n)
    {
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected.Pointer[i]), BitConverter.SingleToInt32Bits(actual.Pointer[i]));
        }
    }
}
