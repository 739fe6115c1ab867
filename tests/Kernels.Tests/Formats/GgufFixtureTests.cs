using Serving.Kernels.Formats;
using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Formats;

public sealed class GgufFixtureTests
{
    [Fact]
    public void Header_and_metadata_of_stories260K()
    {
        using var file = GgufFile.Open(Fixtures.Stories260KGguf);
        Assert.Equal(3u, file.Version);
        Assert.Equal(32, file.Alignment);
        Assert.Equal(0, file.DataOffset % 32);
        Assert.Equal("llama", file.Metadata.GetString("general.architecture"));
        Assert.Equal(64u, file.Metadata.GetUInt32("llama.embedding_length"));
        Assert.Equal(172u, file.Metadata.GetUInt32("llama.feed_forward_length"));
        Assert.Equal(5u, file.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal(8u, file.Metadata.GetUInt32("llama.attention.head_count"));
        Assert.Equal(4u, file.Metadata.GetUInt32("llama.attention.head_count_kv"));
        Assert.Equal(1e-5f, file.Metadata.GetFloat32("llama.attention.layer_norm_rms_epsilon"));
        Assert.Equal(512, file.Metadata.GetStringArray("tokenizer.ggml.tokens").Count);
        Assert.Equal(512, file.Metadata.GetFloat32Array("tokenizer.ggml.scores").Count);
        Assert.Equal(512, file.Metadata.GetInt32Array("tokenizer.ggml.token_type").Count);
        Assert.False(file.Metadata.TryGetString("tokenizer.chat_template", out _));
        var error = Assert.Throws<ModelFormatException>(() => file.Metadata.GetString("llama.block_count"));
        Assert.Contains("llama.block_count", error.Message);
    }

    [Fact]
    public void Tensors_of_stories260K_are_F32_views_with_outer_first_shapes()
    {
        using var file = GgufFile.Open(Fixtures.Stories260KGguf);
        Assert.Equal(48, file.Tensors.Count);
        Assert.All(file.TensorsInFileOrder, t => Assert.Equal(GgmlType.F32, t.Type));
        Assert.Equal([512L, 64], file.GetTensor("token_embd.weight").Shape);
        Assert.Equal([32L, 64], file.GetTensor("blk.0.attn_k.weight").Shape);
        Assert.Equal([64L, 172], file.GetTensor("blk.4.ffn_down.weight").Shape);
        Assert.Equal([64L], file.GetTensor("output_norm.weight").Shape);
        var embd = file.GetTensor("token_embd.weight");
        Assert.Equal(512 * 64 * 4, embd.ByteLength);
        Assert.Throws<ModelFormatException>(() => file.GetTensor("nope"));
    }
}
