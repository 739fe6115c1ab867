using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Serving.Kernels.Numerics;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>fp32 weights: loaded as they are.</summary>
internal readonly unsafe struct F32RowLoader : IFloatRowLoader
{
    public static int ElementBytes => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* row, int index) => Vector256.Load((float*)row + index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int index) => Vector512.Load((float*)row + index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* row, int index) => ((float*)row)[index];
}

/// <summary>bf16 weights: the 16 bits become the top half of an fp32.</summary>
internal readonly unsafe struct BF16RowLoader : IFloatRowLoader
{
    public static int ElementBytes => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* row, int index)
    {
        var widened = Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)row + index));
        return (widened << 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int index)
    {
        var widened = Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)row + index));
        return (widened << 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* row, int index) => BFloat16.ToSingle(((ushort*)row)[index]);
}

/// <summary>
/// fp16 weights, converted with integer operations: the exponent and mantissa bits shifted into fp32 position and
/// multiplied by 2^112 give the exact value for normal and subnormal halves alike; infinities and NaNs keep an
/// all-ones exponent; the sign is put back last. (.NET exposes no vcvtph2ps intrinsic.)
/// </summary>
internal readonly unsafe struct F16RowLoader : IFloatRowLoader
{
    public static int ElementBytes => 2;

    private const float TwoPow112 = 5.192296858534828e33f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* row, int index)
    {
        var h = Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)row + index));
        var magnitude = (h & Vector256.Create(0x7FFF)) << 13;
        var value = magnitude.AsSingle() * Vector256.Create(TwoPow112);
        var special = Vector256.Equals(h & Vector256.Create(0x7C00), Vector256.Create(0x7C00));
        value = Vector256.ConditionalSelect(special.AsSingle(), (magnitude | Vector256.Create(0x7F800000)).AsSingle(), value);
        var sign = (h & Vector256.Create(0x8000)) << 16;
        return (value.AsInt32() | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int index)
    {
        var h = Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)row + index));
        var magnitude = (h & Vector512.Create(0x7FFF)) << 13;
        var value = magnitude.AsSingle() * Vector512.Create(TwoPow112);
        var special = Vector512.Equals(h & Vector512.Create(0x7C00), Vector512.Create(0x7C00));
        value = Vector512.ConditionalSelect(special.AsSingle(), (magnitude | Vector512.Create(0x7F800000)).AsSingle(), value);
        var sign = (h & Vector512.Create(0x8000)) << 16;
        return (value.AsInt32() | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* row, int index) => HalfTable.ToSingle(((ushort*)row)[index]);
}

/// <summary>
/// fp16 weights known to hold no infinities or NaNs (checked once when the kernel is built, see
/// <see cref="HalfScan"/>): the same exact conversion without the special-value select, about half the vector
/// operations per weight. Single-token products over fp16 are limited by these operations, not by memory.
/// </summary>
internal readonly unsafe struct F16FiniteRowLoader : IFloatRowLoader
{
    public static int ElementBytes => 2;

    /// <summary>The bits in place (<see cref="F16ScaledDownRowLoader"/>), then the rescaling multiply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* row, int index) =>
        F16ScaledDownRowLoader.Load8(row, index) * Vector256.Create(F16ScaledDownRowLoader.Compensation);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int index) =>
        F16ScaledDownRowLoader.Load16(row, index) * Vector512.Create(F16ScaledDownRowLoader.Compensation);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* row, int index) => HalfTable.ToSingle(((ushort*)row)[index]);
}

/// <summary>
/// fp16 values known to be finite, widened to 2^−112 times their value: the exponent and mantissa bits shifted into
/// fp32 position without <see cref="F16FiniteRowLoader"/>'s rescaling multiply, exact for normal and subnormal
/// halves alike (the smallest fp16 subnormal becomes 2^−136, inside fp32's subnormal range). A kernel that multiplies
/// them by operands scaled by 2^112 beforehand gets the same exact products, so its fused multiply-adds round to the
/// same results, with one vector multiply per 16 values fewer.
/// </summary>
internal readonly unsafe struct F16ScaledDownRowLoader : IFloatRowLoader
{
    public static int ElementBytes => 2;

    /// <summary>What the other operand is multiplied by so the products come out unscaled: 2^112.</summary>
    public const float Compensation = 5.192296858534828e33f;

    /// <summary>Operands at least this large are not scaled (times 2^112 they could overflow near 65,536).</summary>
    private const float Limit = 65504f;

    /// <summary>scaled[i] = source[i] · 2^112 for <paramref name="n"/> elements, exactly (a power of two); false, with
    /// <paramref name="scaled"/> unusable, when an element is too large for that or not finite, in which case the
    /// caller widens with <see cref="F16FiniteRowLoader"/> and its unscaled operands instead.</summary>
    public static bool TryScaleUp(float* source, float* scaled, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var limit = Vector512.Create(Limit);
            var fits = Vector512<float>.AllBitsSet;
            for (; i + 16 <= n; i += 16)
            {
                var x = Vector512.Load(source + i);
                fits &= Vector512.LessThan(Vector512.Abs(x), limit);
                (x * Compensation).Store(scaled + i);
            }

            if (fits.ExtractMostSignificantBits() != 0xFFFF)
            {
                return false;
            }
        }

        for (; i < n; i++)
        {
            if (!(MathF.Abs(source[i]) < Limit))
            {
                return false;
            }

            scaled[i] = source[i] * Compensation;
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* row, int index)
    {
        // Sign-extended, h << 13 holds the sign in bit 31 above exponent and mantissa (copies of it in bits 28–30 are
        // masked off), so the value comes out signed with no separate sign step.
        var h = Avx2.ConvertToVector256Int32(Vector128.Load((short*)row + index));
        return ((h << 13) & Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int index)
    {
        var h = Avx512F.ConvertToVector512Int32(Vector256.Load((short*)row + index));
        return ((h << 13) & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* row, int index) => HalfTable.ToSingle(((ushort*)row)[index]) * (1f / Compensation);
}

/// <summary>
/// fp16 values known to be normal numbers: the exponent and mantissa bits shifted into fp32 position with the
/// exponent rebiased by an integer add, sign included, no float operation. Wrong for zeros and subnormals, so only
/// for block scales that <see cref="InterleavedMatMul"/> has checked (<see cref="BlockScaleForm.Normal"/>).
/// </summary>
internal readonly unsafe struct F16NormalRowLoader : IFloatRowLoader
{
    public static int ElementBytes => 2;

    // (127 − 15) << 23: the difference of the fp32 and fp16 exponent biases, in the fp32 exponent field.
    private const int Rebias = 0x38000000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* row, int index)
    {
        var h = Avx2.ConvertToVector256Int32(Vector128.Load((short*)row + index));
        return (((h << 13) & Vector256.Create(unchecked((int)0x8FFFE000))) + Vector256.Create(Rebias)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* row, int index)
    {
        var h = Avx512F.ConvertToVector512Int32(Vector256.Load((short*)row + index));
        return (((h << 13) & Vector512.Create(unchecked((int)0x8FFFE000))) + Vector512.Create(Rebias)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* row, int index) => HalfTable.ToSingle(((ushort*)row)[index]);
}
