using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Models;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Formats;

public sealed class GgufWriterTests
{
    [Fact]
    public void Metadata_of_every_type_round_trips()
    {
        using var dir = new TempDirectory();
        var writer = new GgufWriter(alignment: 64);
        object[] values =
        [
            (byte)7, (sbyte)-7, (ushort)700, (short)-700, 70_000u, -70_000, 1.5f, true, "héllo", ulong.MaxValue, long.MinValue, 2.25,
            new[] { "a", "", "ü" }, new[] { 1.0f, -2f }, new[] { 1, -2, 3 }, new byte[] { 1, 2 }, new[] { true, false }, new[] { 1.0, 2.0 },
            new Array[] { new[] { 1, 2 }, new[] { 3 } },
        ];
        for (var i = 0; i < values.Length; i++)
        {
            writer.Add($"test.key{i}", values[i]);
        }

        var path = dir.File("m.gguf");
        writer.Write(path);
        using var file = GgufFile.Open(path);
        Assert.Equal(64, file.Alignment);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.True(file.Metadata.TryGetValue($"test.key{i}", out var read));
            Assert.Equal(values[i], read);
        }

        Assert.Equal(70_000u, file.Metadata.GetUInt32("test.key4"));
        Assert.Equal([1, -2, 3], file.Metadata.GetInt32Array("test.key14"));
        Assert.Equal([1, 2], file.Metadata.GetInt32Array("test.key15"));
        Assert.Equal([1f, 2f], file.Metadata.GetFloat32Array("test.key17"));
    }

    [Fact]
    public unsafe void Tensors_round_trip_from_bytes_and_from_a_streaming_callback()
    {
        using var dir = new TempDirectory();
        var writer = new GgufWriter();
        var small = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
        writer.AddTensor("small", GgmlType.F32, [3], small);
        writer.AddTensor("big", GgmlType.Q8_0, [4, 64], stream =>
        {
            for (var row = 0; row < 8; row++)
            {
                stream.Write(Enumerable.Repeat((byte)row, 34).ToArray());
            }
        });
        var path = dir.File("t.gguf");
        writer.Write(path);

        using var file = GgufFile.Open(path);
        Assert.Equal(["small", "big"], file.TensorsInFileOrder.Select(t => t.Name));
        var big = file.GetTensor("big");
        Assert.Equal([4L, 64], big.Shape);
        Assert.Equal(8 * 34, big.ByteLength);
        Assert.Equal(0, (big.Data - (nint)file.GetTensor("small").Data) % 32);
        Assert.Equal(small, new ReadOnlySpan<byte>((void*)file.GetTensor("small").Data, 12).ToArray());
        Assert.Equal(7, ((byte*)big.Data)[7 * 34]);
    }

    [Fact]
    public void A_callback_writing_the_wrong_size_is_refused()
    {
        var writer = new GgufWriter();
        writer.AddTensor("t", GgmlType.F32, [2], stream => stream.Write(new byte[7]));
        Assert.Throws<InvalidOperationException>(() => writer.Write(Stream.Null));
    }

    [Fact]
    public void A_written_qwen2_model_reads_back_with_biases_tied_output_and_rope_factors()
    {
        using var dir = new TempDirectory();
        var path = dir.File("qwen.gguf");
        TinyGguf.Write(path, "qwen2", tied: true, ropeFactors: true);
        using var model = GgufModelReader.Load(path);
        Assert.Equal(RopeLayout.HalfSplit, model.Config.RopeLayout);
        Assert.True(model.Config.AttentionBias);
        Assert.True(model.Config.TiedEmbeddings);
        Assert.Same(model.Weights.TokenEmbedding, model.Weights.Output);
        Assert.Equal([1f, 2f], model.Config.RopeFrequencyFactors!);
        Assert.Equal([8L], model.Weights.Layers[0].KeyBias!.Shape);
        Assert.Equal("{{ messages }}", model.ChatTemplate);
        Assert.Equal([3], model.StopTokenIds);
        Assert.Equal(Serving.Kernels.Tokenizers.TokenizerKind.ByteLevelBpe, model.Vocabulary!.Kind);
        Assert.Equal(["a b"], model.Vocabulary.Merges!);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("phi3")]
    public void Unsupported_architectures_are_refused_by_name(string arch)
    {
        using var dir = new TempDirectory();
        var path = dir.File("x.gguf");
        TinyGguf.Write(path, arch, tied: false, ropeFactors: false);
        var error = Assert.Throws<Kernels.Formats.ModelFormatException>(() => GgufModelReader.Load(path));
        Assert.Contains($"'{arch}'", error.Message);
        Assert.Contains("llama, mistral, qwen2", error.Message);
    }

    [Fact]
    public void Mixture_of_experts_is_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("moe.gguf");
        TinyGguf.Write(path, "llama", tied: false, ropeFactors: false, experts: 4);
        Assert.Contains("mixture-of-experts", Assert.Throws<Kernels.Formats.ModelFormatException>(() => GgufModelReader.Load(path)).Message);
    }
}
