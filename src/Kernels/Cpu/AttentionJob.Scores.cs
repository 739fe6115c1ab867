using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Serving.Kernels.Cpu.MatMul;

namespace Serving.Kernels.Cpu;

// AttentionJob, part: scoring one block of transposed keys against the query heads of a group.
internal sealed unsafe partial class AttentionJob
{
    /// <summary>Scores of eight heads of a group (from <paramref name="firstHead"/>; past the group's end the last
    /// head repeats, writing the same numbers again) for every slot of one block of transposed keys. Each key row
    /// is loaded once for the eight heads; each score is one fused multiply-add per dimension in dimension order,
    /// whatever the vector width, so results do not depend on the CPU's widths or on the other heads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlock8<TLoad>(float* query, int firstHead, byte* keys, float* scores, byte* next)
        where TLoad : IFloatRowLoader
    {
        var q = stackalloc float*[8];
        var s = stackalloc float*[8];
        for (var i = 0; i < 8; i++)
        {
            var head = Math.Min(firstHead + i, _group - 1);
            q[i] = query + (head * _headDim);
            s[i] = scores + (head * _scoreStride);
        }

        float* q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
        var blockSize = _blockSize;
        var rowBytes = blockSize * _cache!.ElementBytes;
        var c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c + 16 <= blockSize; c += 16)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (var d = 0; d < _headDim; d++)
                {
                    if (next != null && c == 0)
                    {
                        CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                    }

                    var k = TLoad.Load16(keys + (d * rowBytes), c);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[d]), k, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[d]), k, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[d]), k, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[d]), k, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(q4[d]), k, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(q5[d]), k, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(q6[d]), k, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(q7[d]), k, a7);
                }

                var scale = Vector512.Create(_scale);
                (a0 * scale).Store(s[0] + c);
                (a1 * scale).Store(s[1] + c);
                (a2 * scale).Store(s[2] + c);
                (a3 * scale).Store(s[3] + c);
                (a4 * scale).Store(s[4] + c);
                (a5 * scale).Store(s[5] + c);
                (a6 * scale).Store(s[6] + c);
                (a7 * scale).Store(s[7] + c);
            }
        }

        for (; c + 8 <= blockSize; c += 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (var d = 0; d < _headDim; d++)
            {
                if (next != null && c == 0)
                {
                    CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                }

                var k = TLoad.Load8(keys + (d * rowBytes), c);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(q0[d]), k, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(q1[d]), k, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(q2[d]), k, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(q3[d]), k, a3);
                a4 = Vector256.FusedMultiplyAdd(Vector256.Create(q4[d]), k, a4);
                a5 = Vector256.FusedMultiplyAdd(Vector256.Create(q5[d]), k, a5);
                a6 = Vector256.FusedMultiplyAdd(Vector256.Create(q6[d]), k, a6);
                a7 = Vector256.FusedMultiplyAdd(Vector256.Create(q7[d]), k, a7);
            }

            var scale = Vector256.Create(_scale);
            (a0 * scale).Store(s[0] + c);
            (a1 * scale).Store(s[1] + c);
            (a2 * scale).Store(s[2] + c);
            (a3 * scale).Store(s[3] + c);
            (a4 * scale).Store(s[4] + c);
            (a5 * scale).Store(s[5] + c);
            (a6 * scale).Store(s[6] + c);
            (a7 * scale).Store(s[7] + c);
        }

        for (; c < blockSize; c++)
        {
            for (var i = 0; i < 8; i++)
            {
                s[i][c] = ScoreSlot<TLoad>(q[i], keys, c, rowBytes) * _scale;
            }
        }
    }

    /// <summary><see cref="ScoreBlock8"/> for two blocks whose scores lie one after the other (from
    /// <paramref name="scores"/>), on 512-bit vectors, for block sizes that are a multiple of 16: the same fused
    /// multiply-adds per score in the same order, with sixteen sums in flight and each broadcast query element used
    /// for two key rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlockPair8<TLoad>(float* query, int firstHead, byte* first, byte* second, float* scores, byte* nextFirst, byte* nextSecond)
        where TLoad : IFloatRowLoader
    {
        var q = stackalloc float*[8];
        var s = stackalloc float*[8];
        for (var i = 0; i < 8; i++)
        {
            var head = Math.Min(firstHead + i, _group - 1);
            q[i] = query + (head * _headDim);
            s[i] = scores + (head * _scoreStride);
        }

        var blockSize = _blockSize;
        var rowBytes = blockSize * _cache!.ElementBytes;
        var scale = Vector512.Create(_scale);
        for (var c = 0; c < blockSize; c += 16)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            for (var d = 0; d < _headDim; d++)
            {
                if (c == 0)
                {
                    if (nextFirst != null)
                    {
                        CachePrefetch.Lines(nextFirst + (d * rowBytes), rowBytes);
                    }

                    if (nextSecond != null)
                    {
                        CachePrefetch.Lines(nextSecond + (d * rowBytes), rowBytes);
                    }
                }

                var ka = TLoad.Load16(first + (d * rowBytes), c);
                var kb = TLoad.Load16(second + (d * rowBytes), c);
                var x = Vector512.Create(q[0][d]);
                a0 = Vector512.FusedMultiplyAdd(x, ka, a0);
                b0 = Vector512.FusedMultiplyAdd(x, kb, b0);
                x = Vector512.Create(q[1][d]);
                a1 = Vector512.FusedMultiplyAdd(x, ka, a1);
                b1 = Vector512.FusedMultiplyAdd(x, kb, b1);
                x = Vector512.Create(q[2][d]);
                a2 = Vector512.FusedMultiplyAdd(x, ka, a2);
                b2 = Vector512.FusedMultiplyAdd(x, kb, b2);
                x = Vector512.Create(q[3][d]);
                a3 = Vector512.FusedMultiplyAdd(x, ka, a3);
                b3 = Vector512.FusedMultiplyAdd(x, kb, b3);
                x = Vector512.Create(q[4][d]);
                a4 = Vector512.FusedMultiplyAdd(x, ka, a4);
                b4 = Vector512.FusedMultiplyAdd(x, kb, b4);
                x = Vector512.Create(q[5][d]);
                a5 = Vector512.FusedMultiplyAdd(x, ka, a5);
                b5 = Vector512.FusedMultiplyAdd(x, kb, b5);
                x = Vector512.Create(q[6][d]);
                a6 = Vector512.FusedMultiplyAdd(x, ka, a6);
                b6 = Vector512.FusedMultiplyAdd(x, kb, b6);
                x = Vector512.Create(q[7][d]);
                a7 = Vector512.FusedMultiplyAdd(x, ka, a7);
                b7 = Vector512.FusedMultiplyAdd(x, kb, b7);
            }

            (a0 * scale).Store(s[0] + c);
            (a1 * scale).Store(s[1] + c);
            (a2 * scale).Store(s[2] + c);
            (a3 * scale).Store(s[3] + c);
            (a4 * scale).Store(s[4] + c);
            (a5 * scale).Store(s[5] + c);
            (a6 * scale).Store(s[6] + c);
            (a7 * scale).Store(s[7] + c);
            (b0 * scale).Store(s[0] + blockSize + c);
            (b1 * scale).Store(s[1] + blockSize + c);
            (b2 * scale).Store(s[2] + blockSize + c);
            (b3 * scale).Store(s[3] + blockSize + c);
            (b4 * scale).Store(s[4] + blockSize + c);
            (b5 * scale).Store(s[5] + blockSize + c);
            (b6 * scale).Store(s[6] + blockSize + c);
            (b7 * scale).Store(s[7] + blockSize + c);
        }
    }

    /// <summary><see cref="ScoreBlock8"/> for a group of one head (multi-head attention).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlock1<TLoad>(float* query, byte* keys, float* scores, byte* next)
        where TLoad : IFloatRowLoader
    {
        var blockSize = _blockSize;
        var rowBytes = blockSize * _cache!.ElementBytes;
        var c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c + 16 <= blockSize; c += 16)
            {
                var a = Vector512<float>.Zero;
                for (var d = 0; d < _headDim; d++)
                {
                    if (next != null && c == 0)
                    {
                        CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                    }

                    a = Vector512.FusedMultiplyAdd(Vector512.Create(query[d]), TLoad.Load16(keys + (d * rowBytes), c), a);
                }

                (a * Vector512.Create(_scale)).Store(scores + c);
            }
        }

        for (; c + 8 <= blockSize; c += 8)
        {
            var a = Vector256<float>.Zero;
            for (var d = 0; d < _headDim; d++)
            {
                if (next != null && c == 0)
                {
                    CachePrefetch.Lines(next + (d * rowBytes), rowBytes);
                }

                a = Vector256.FusedMultiplyAdd(Vector256.Create(query[d]), TLoad.Load8(keys + (d * rowBytes), c), a);
            }

            (a * Vector256.Create(_scale)).Store(scores + c);
        }

        for (; c < blockSize; c++)
        {
            scores[c] = ScoreSlot<TLoad>(query, keys, c, rowBytes) * _scale;
        }
    }

    /// <summary>One slot's dot product, in the vector kernels' order (one fused multiply-add per dimension).</summary>
    private float ScoreSlot<TLoad>(float* query, byte* keys, int slot, int rowBytes)
        where TLoad : IFloatRowLoader
    {
        var sum = 0f;
        for (var d = 0; d < _headDim; d++)
        {
            sum = MathF.FusedMultiplyAdd(query[d], TLoad.Load1(keys + (d * rowBytes), slot), sum);
        }

        return sum;
    }
}
