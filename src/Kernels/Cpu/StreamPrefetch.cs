using System.Runtime.Intrinsics.X86;

namespace Serving.Kernels.Cpu;

/// <summary>
/// Whether the one-token streaming kernels (fp16 rows, the vpdpbusd Q4_0 and Q8_0 sections) request every cache line
/// a fixed distance ahead of the block they read, on top of the hardware prefetchers. That is a property of the
/// CPU, measured both ways: on AMD Zen 5 it made a whole decode step 7–12 % (Q4_0, Q8_0) and 8–29 % (fp16) faster;
/// on Zen 4 it capped 22 layers of one-token fp16 products at 40–43 GB/s while the probe read 54–57 GB/s, where
/// the hardware prefetchers alone reached 49–53 GB/s (docs/benchmarks.md). So it is on for AMD family 1Ah (Zen 5)
/// and later, and off elsewhere, leaving unmeasured CPUs to their hardware. <c>SERVING_STREAM_PREFETCH</c> = on,
/// off or auto overrides the choice.
/// </summary>
internal static class StreamPrefetch
{
    /// <summary>The environment variable that overrides the choice.</summary>
    public const string Variable = "SERVING_STREAM_PREFETCH";

    /// <summary>The choice for this process (a constant to the JIT, so a disabled prefetch costs no branch). An
    /// invalid setting counts as auto here; <see cref="ThrowIfInvalid"/>, called where matrices get their kernels,
    /// turns it into a load error.</summary>
    public static readonly bool Enabled = Choose();

    /// <summary>A setting of <see cref="Variable"/>: true (on), false (off) or null (auto; also null or empty).</summary>
    /// <exception cref="ArgumentException">Any other setting.</exception>
    public static bool? Parse(string? setting) => setting?.Trim().ToUpperInvariant() switch
    {
        null or "" or "AUTO" => null,
        "ON" => true,
        "OFF" => false,
        _ => throw new ArgumentException($"{Variable} must be on, off or auto, not '{setting}'"),
    };

    /// <exception cref="ArgumentException">The environment sets <see cref="Variable"/> to something other than on,
    /// off or auto.</exception>
    public static void ThrowIfInvalid() => Parse(Environment.GetEnvironmentVariable(Variable));

    private static bool Choose()
    {
        try
        {
            return Parse(Environment.GetEnvironmentVariable(Variable)) ?? IsZen5OrLater();
        }
        catch (ArgumentException)
        {
            return IsZen5OrLater();
        }
    }

    /// <summary>AMD family 1Ah or later, from CPUID (family = base family + extended family when the base is Fh).</summary>
    private static bool IsZen5OrLater()
    {
        if (!X86Base.IsSupported)
        {
            return false;
        }

        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        var amd = ebx == 0x68747541 && edx == 0x69746E65 && ecx == 0x444D4163;
        var signature = X86Base.CpuId(1, 0).Eax;
        var family = (signature >> 8) & 0xF;
        if (family == 0xF)
        {
            family += (signature >> 20) & 0xFF;
        }

        return amd && family >= 0x1A;
    }
}
