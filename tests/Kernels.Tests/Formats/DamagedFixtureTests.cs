using System.Buffers.Binary;
using System.Text;
using CsCheck;
using Serving.Kernels.Formats;
using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Formats.Llama2c;

namespace Serving.Kernels.Tests.Formats;

/// <summary>Damaged copies of the real fixtures must fail with a <see cref="ModelFormatException"/> that says what
/// is wrong, and never with any other exception.</summary>
public sealed class DamagedFixtureTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _gguf = File.ReadAllBytes(Fixtures.Stories260KGguf);
    private readonly byte[] _bin = File.ReadAllBytes(Fixtures.Stories260KBin);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Gguf_truncated_anywhere_is_a_format_error()
    {
        foreach (var length in new[] { 0, 3, 4, 7, 8, 23, 24, 100, 14_000, _gguf.Length - 1 })
        {
            LoadGgufExpectingError(_gguf[..length]);
        }

        Gen.Int[0, _gguf.Length - 1].Sample(length => LoadGgufExpectingError(_gguf[..length]), iter: 150);
    }

    [Fact]
    public void Gguf_with_random_bytes_flipped_in_the_header_never_crashes() =>
        Gen.Select(Gen.Int[0, 14_200], Gen.Byte).Sample((offset, value) =>
        {
            var copy = (byte[])_gguf.Clone();
            copy[offset] = value;
            try
            {
                GgufModelReader.Load(Write(copy)).Dispose();
            }
            catch (ModelFormatException)
            {
                // Refusing the damaged file is the expected outcome; any other exception fails the property.
            }
        }, iter: 300);

    [Fact]
    public void Gguf_bad_magic() =>
        Assert.Contains("magic", Damage(c => c[0] = (byte)'X'));

    [Fact]
    public void Gguf_unsupported_version() =>
        Assert.Contains("version 99", Damage(c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), 99)));

    [Fact]
    public void Gguf_unknown_tensor_type_names_tensor_and_type()
    {
        var message = Damage(c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(TypeField(c, "blk.0.attn_k.weight")), 99));
        Assert.Contains("blk.0.attn_k.weight", message);
        Assert.Contains("99", message);
    }

    [Fact]
    public void Gguf_unsupported_weight_type_names_tensor_and_type()
    {
        var message = Damage(c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(TypeField(c, "blk.0.attn_k.weight")), 10));
        Assert.Contains("'blk.0.attn_k.weight' is stored as Q2_K", message);
    }

    /// <summary>stories260K's rows are 64 wide: a k-quant (256-weight blocks) cannot store them.</summary>
    [Fact]
    public void Gguf_block_size_that_does_not_divide_the_rows_is_refused()
    {
        var message = Damage(c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(TypeField(c, "blk.0.attn_k.weight")), 12));
        Assert.Contains("'blk.0.attn_k.weight' is stored as Q4_K, whose blocks of 256 weights do not divide its rows of 64", message);
    }

    [Fact]
    public void Gguf_quantized_norm_is_refused() =>
        Assert.Contains("'blk.1.ffn_norm.weight' is stored as Q8_0",
            Damage(c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(TypeField(c, "blk.1.ffn_norm.weight")), 8)));

    [Fact]
    public void Gguf_changed_dim_is_a_shape_error_naming_the_tensor()
    {
        // Dimensions sit just before the type field, innermost first: ne0 = 64 (hidden), ne1 = 32 (kv dim).
        var message = Damage(c => BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(TypeField(c, "blk.0.attn_k.weight") - 8), 16));
        Assert.Contains("'blk.0.attn_k.weight' has shape [16, 64], expected [32, 64]", message);
    }

    [Fact]
    public void Gguf_misaligned_tensor_offset()
    {
        var message = Damage(c =>
        {
            var at = TypeField(c, "blk.0.attn_v.weight") + 4;
            BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(at), BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(at)) + 4);
        });
        Assert.Contains("'blk.0.attn_v.weight'", message);
        Assert.Contains("alignment", message);
    }

    [Fact]
    public void Gguf_renamed_tensor_is_reported_missing()
    {
        var message = Damage(c => Encoding.ASCII.GetBytes("blk.2.ffn_uq.weight").CopyTo(c, NameAt(c, "blk.2.ffn_up.weight")));
        Assert.Contains("tensor 'blk.2.ffn_up.weight' is missing", message);
    }

    [Fact]
    public void Gguf_absurd_tensor_count() =>
        Assert.Contains("tensor count", Damage(c => BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(8), ulong.MaxValue)));

    [Fact]
    public void Gguf_string_length_past_the_end() =>
        Assert.Contains("runs past the end", Damage(c => BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(24), 1UL << 40)));

    [Fact]
    public void Bin_truncated_by_one_byte_says_expected_and_actual_size()
    {
        var message = Assert.Throws<ModelFormatException>(() => Llama2cCheckpointReader.Load(Write(_bin[..^1]))).Message;
        Assert.Contains("1056540", message);
        Assert.Contains("1056539", message);
    }

    [Fact]
    public void Bin_truncated_anywhere_is_a_format_error() =>
        Gen.Int[0, _bin.Length - 1].Sample(length =>
            Assert.Throws<ModelFormatException>(() => Llama2cCheckpointReader.Load(Write(_bin[..length]))), iter: 100);

    private void LoadGgufExpectingError(byte[] bytes)
    {
        var error = Assert.Throws<ModelFormatException>(() => GgufModelReader.Load(Write(bytes)));
        Assert.Contains(".gguf", error.Message);
    }

    private string Damage(Action<byte[]> damage)
    {
        var copy = (byte[])_gguf.Clone();
        damage(copy);
        return Assert.Throws<ModelFormatException>(() => GgufModelReader.Load(Write(copy))).Message;
    }

    private string Write(byte[] bytes)
    {
        var path = _dir.File(Guid.NewGuid().ToString("N") + ".gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static int NameAt(byte[] file, string name) => file.AsSpan().LastIndexOf(Encoding.ASCII.GetBytes(name));

    /// <summary>Offset of the type field of a tensor info: name, uint32 dimension count, uint64 dims, then type.</summary>
    private static int TypeField(byte[] file, string name)
    {
        var dimsAt = NameAt(file, name) + name.Length;
        return dimsAt + 4 + (8 * (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(dimsAt)));
    }
}
