using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Activations quantized to int8 in blocks of 32 (one fp32 scale and the block's integer sum per block), the input
/// format of the Q8_0 and Q4_0 kernels. Quantizing once per normalised activation lets the Q, K and V (or gate and
/// up) products share it, and lets every weight block be consumed with integer dot products.
/// </summary>
internal sealed unsafe class QuantizedActivations : IDisposable
{
    private readonly NativeBuffer<sbyte> _values;
    private readonly NativeBuffer<float> _scales;
    private readonly NativeBuffer<int> _sums;
    private readonly NativeBuffer<int> _nibbleOffsets;
    private readonly NativeBuffer<int> _byteOffsets;
    private readonly NativeBuffer<short> _halfSums;

    public QuantizedActivations(int maxTokens, int maxColumns)
    {
        MaxTokens = maxTokens;
        MaxColumns = maxColumns;
        _values = new NativeBuffer<sbyte>((long)maxTokens * maxColumns);
        _scales = new NativeBuffer<float>((long)maxTokens * maxColumns / 32);
        _sums = new NativeBuffer<int>((long)maxTokens * maxColumns / 32);
        _nibbleOffsets = new NativeBuffer<int>((long)maxTokens * maxColumns / 32);
        _byteOffsets = new NativeBuffer<int>((long)maxTokens * maxColumns / 32);
        _halfSums = new NativeBuffer<short>((long)maxTokens * maxColumns / 16);
    }

    public int MaxTokens { get; }

    public int MaxColumns { get; }

    public sbyte* Values => _values.Pointer;

    public float* Scales => _scales.Pointer;

    public int* Sums => _sums.Pointer;

    /// <summary>−8 × <see cref="Sums"/> per block: what Q4_0's unsigned nibbles (value + 8) need added to a block's
    /// integer dot product. Stored so the kernels broadcast it straight from memory (a single operation) instead of
    /// computing it in a general register and moving it to a vector one, once per token and block.</summary>
    public int* NibbleOffsets => _nibbleOffsets.Pointer;

    /// <summary>−128 × <see cref="Sums"/> per block: what Q8_0's offset-binary weights (value + 128) need added, stored
    /// for the same reason as <see cref="NibbleOffsets"/>.</summary>
    public int* ByteOffsets => _byteOffsets.Pointer;

    /// <summary>The integer sum of each half block (16 values; two per block, in order): Q6_K scales every 16
    /// weights separately, so its −32 offset comes back out per half block.</summary>
    public short* HalfSums => _halfSums.Pointer;

    /// <summary>Quantizes <paramref name="tokens"/> rows of <paramref name="columns"/> floats (row stride = columns).</summary>
    public void Quantize(float* x, int tokens, int columns) => Quantize(x, 0, tokens, columns);

    /// <summary>Quantizes rows <paramref name="firstToken"/> to <paramref name="endToken"/> (exclusive) of
    /// <paramref name="x"/>, whose row 0 is at <paramref name="x"/>, into the same rows here; threads may quantize
    /// disjoint row ranges at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Quantize(float* x, int firstToken, int endToken, int columns)
    {
        var blocks = (long)endToken * columns / 32;
        for (var b = (long)firstToken * columns / 32; b < blocks; b++)
        {
            if (Avx2.IsSupported)
            {
                QuantizeBlockAvx2(x + (b * 32), Values + (b * 32), out Scales[b], out var low, out var high);
                HalfSums[2 * b] = (short)low;
                HalfSums[(2 * b) + 1] = (short)high;
                Sums[b] = low + high;
            }
            else
            {
                QuantizeBlockScalar(x + (b * 32), Values + (b * 32), out Scales[b], out var low, out var high);
                HalfSums[2 * b] = (short)low;
                HalfSums[(2 * b) + 1] = (short)high;
                Sums[b] = low + high;
            }

            NibbleOffsets[b] = -8 * Sums[b];
            ByteOffsets[b] = -128 * Sums[b];
        }
    }

    public void Dispose()
    {
        _values.Dispose();
        _scales.Dispose();
        _sums.Dispose();
        _nibbleOffsets.Dispose();
        _byteOffsets.Dispose();
        _halfSums.Dispose();
    }

    private static void QuantizeBlockAvx2(float* src, sbyte* dst, out float scale, out int lowSum, out int highSum)
    {
        var v0 = Avx.LoadVector256(src);
        var v1 = Avx.LoadVector256(src + 8);
        var v2 = Avx.LoadVector256(src + 16);
        var v3 = Avx.LoadVector256(src + 24);
        var amax = Vector256.Max(
            Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)),
            Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        var m128 = Vector128.Max(amax.GetLower(), amax.GetUpper());
        m128 = Vector128.Max(m128, Vector128.Shuffle(m128, Vector128.Create(2, 3, 0, 1)));
        m128 = Vector128.Max(m128, Vector128.Shuffle(m128, Vector128.Create(1, 0, 3, 2)));
        var max = m128.ToScalar();
        var d = max / 127f;
        scale = d;
        var id = Vector256.Create(max != 0 ? 127f / max : 0f);
        var q0 = Avx.ConvertToVector256Int32(v0 * id);
        var q1 = Avx.ConvertToVector256Int32(v1 * id);
        var q2 = Avx.ConvertToVector256Int32(v2 * id);
        var q3 = Avx.ConvertToVector256Int32(v3 * id);
        lowSum = Vector256.Sum(q0 + q1);
        highSum = Vector256.Sum(q2 + q3);

        // packs interleave the 128-bit lanes; the final permute puts the 32 bytes back in element order.
        var p01 = Avx2.PackSignedSaturate(q0, q1);
        var p23 = Avx2.PackSignedSaturate(q2, q3);
        var packed = Avx2.PackSignedSaturate(p01, p23);
        var ordered = Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7));
        Avx.Store(dst, ordered.AsSByte());
    }

    private static void QuantizeBlockScalar(float* src, sbyte* dst, out float scale, out int lowSum, out int highSum)
    {
        var max = 0f;
        for (var i = 0; i < 32; i++)
        {
            max = MathF.Max(max, MathF.Abs(src[i]));
        }

        scale = max / 127f;
        var id = max != 0 ? 127f / max : 0f;
        lowSum = 0;
        highSum = 0;
        for (var i = 0; i < 32; i++)
        {
            var q = (int)MathF.Round(src[i] * id, MidpointRounding.ToEven);
            dst[i] = (sbyte)q;
            if (i < 16)
            {
                lowSum += q;
            }
            else
            {
                highSum += q;
            }
        }
    }
}
