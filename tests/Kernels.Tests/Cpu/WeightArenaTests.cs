using System.Globalization;
using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Cpu;

public sealed unsafe class WeightArenaTests
{
    [Fact]
    public void Allocations_follow_one_another_on_page_boundaries()
    {
        using var arena = new WeightArena(WeightArena.SpaceFor(5000) + WeightArena.SpaceFor(4096) + WeightArena.SpaceFor(1));
        var first = arena.Allocate(5000);
        var second = arena.Allocate(4096);
        var third = arena.Allocate(1);

        Assert.Equal(0, (long)first % 4096);
        Assert.Equal(8192, second - first);
        Assert.Equal(4096, third - second);
        Assert.Equal(arena.Capacity, arena.Used);
        new Span<byte>(first, 5000).Fill(1);
        new Span<byte>(second, 4096).Fill(2);
        third[0] = 3;
        Assert.Equal(1, first[4999]);
        Assert.Equal(2, second[0]);
        Assert.Equal(2, second[4095]);
    }

    [Fact]
    public void Refuses_more_than_it_holds()
    {
        using var arena = new WeightArena(WeightArena.SpaceFor(100));
        _ = arena.Allocate(100);

        var error = Assert.Throws<InvalidOperationException>(() => arena.Allocate(1));
        Assert.Contains("has 0 left, not the 1 asked for", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightArena(0));
    }

    /// <summary>The runner sizes its arena with <see cref="MatMulKernels.RepackedBytes"/>: it must be exactly what
    /// the kernel takes (0 for the kernels that read the stored layout), and a kernel in an arena must compute what
    /// the same kernel in its own allocation does, bit for bit.</summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, 40, 1)]
    [InlineData(GgmlType.Q4_0, 40, 9)]
    [InlineData(GgmlType.Q8_0, 48, 1)]
    [InlineData(GgmlType.Q8_0, 48, 6)]
    [InlineData(GgmlType.Q4_0, 44, 2)]
    [InlineData(GgmlType.F16, 40, 3)]
    [InlineData(GgmlType.Q4_K, 48, 5)]
    [InlineData(GgmlType.Q5_K, 40, 1)]
    [InlineData(GgmlType.Q6_K, 56, 6)]
    public void A_kernel_in_an_arena_takes_what_was_reserved_and_computes_the_same(GgmlType type, int rows, int tokens)
    {
        var columns = type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K ? 512 : 160;
        var tensor = new SyntheticTensor("w", type, [rows, columns], SyntheticTensorKind.Matrix, 7);
        using var stored = new NativeBuffer<byte>(tensor.ByteLength);
        SyntheticModel.Fill(tensor, new Span<byte>(stored.Pointer, (int)tensor.ByteLength));
        var weight = new WeightTensor("w", type, [rows, columns], (nint)stored.Pointer, tensor.ByteLength);
        var repacked = MatMulKernels.RepackedBytes(weight);
        // The interleaved layouts keep the stored size, except Q4_K's and Q5_K's, whose 6-bit scales are unpacked to
        // bytes: 32 bytes more per row group and super-block.
        var extra = type is GgmlType.Q4_K or GgmlType.Q5_K ? rows / 8 * (columns / 256) * 32 : 0;
        Assert.Equal(type != GgmlType.F16 && InterleavedLayout.Supports(type, rows) ? tensor.ByteLength + extra : 0, repacked);

        // One page more than reserved, so a kernel taking more than it said would show in Used.
        using var arena = new WeightArena(WeightArena.SpaceFor(repacked) + 4096);
        var inArena = MatMulKernels.For(weight, arena);
        var own = MatMulKernels.For(weight);
        Assert.Equal(WeightArena.SpaceFor(repacked), arena.Used);

        var expected = Products(own, tokens, rows, columns);
        var actual = Products(inArena, tokens, rows, columns);
        Assert.Equal(expected, actual);
        (own as IDisposable)?.Dispose();
        (inArena as IDisposable)?.Dispose();
    }

    /// <summary>Large buffers are advised for huge pages to their last byte: the advice once covered exactly the
    /// requested length, which left each buffer's last partial 2 MiB on 4 KiB pages.</summary>
    [Fact]
    public void Large_buffers_are_advised_for_huge_pages_in_whole_2_MiB_pages()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/sys/kernel/mm/transparent_hugepage"))
        {
            return;
        }

        const long length = (2L << 20) + 12_345;
        using var buffer = new NativeBuffer<byte>(length, clear: false);
        var start = (long)buffer.Pointer;
        var (low, high, flags) = Mapping(start);

        Assert.Contains("hg", flags.Split(' '));
        Assert.True(low <= start, $"mapping starts at {low:x}, after the buffer's {start:x}");
        Assert.True(high >= start + (4L << 20), $"mapping ends at {high:x}, inside the buffer's second 2 MiB page (buffer at {start:x})");
    }

    private static float[] Products(IMatMulKernel kernel, int tokens, int rows, int columns)
    {
        var random = new Random(3);
        using var x = new NativeBuffer<float>(tokens * columns);
        for (var i = 0; i < tokens * columns; i++)
        {
            x.Pointer[i] = (float)((random.NextDouble() * 4) - 2);
        }

        using var quantized = new QuantizedActivations(tokens, columns);
        quantized.Quantize(x.Pointer, tokens, columns);
        using var y = new NativeBuffer<float>(tokens * rows);
        kernel.Compute(new MatMulInput(x.Pointer, quantized, tokens, columns), y.Pointer, rows, 0, rows);
        return new Span<float>(y.Pointer, tokens * rows).ToArray();
    }

    /// <summary>The range and flags of the mapping in /proc/self/smaps that holds <paramref name="address"/>.</summary>
    private static (long Low, long High, string Flags) Mapping(long address)
    {
        var lines = File.ReadAllLines("/proc/self/smaps");
        for (var i = 0; i < lines.Length; i++)
        {
            var space = lines[i].IndexOf(' ', StringComparison.Ordinal);
            var dash = lines[i].IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || space < dash || !long.TryParse(lines[i].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var low))
            {
                continue;
            }

            var high = long.Parse(lines[i].AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (address < low || address >= high)
            {
                continue;
            }

            for (var j = i + 1; j < lines.Length; j++)
            {
                if (lines[j].StartsWith("VmFlags:", StringComparison.Ordinal))
                {
                    return (low, high, lines[j]["VmFlags:".Length..].Trim());
                }
            }
        }

        throw new InvalidOperationException($"no mapping holds {address:x}");
    }
}
