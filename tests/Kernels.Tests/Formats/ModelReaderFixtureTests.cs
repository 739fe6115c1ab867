using Serving.Kernels.Formats;
using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Formats.Llama2c;
using Serving.Kernels.Models;
using Serving.Kernels.Tensors;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Formats;

public sealed class ModelReaderFixtureTests
{
    [Fact]
    public void Gguf_config_of_stories260K()
    {
        using var model = GgufModelReader.Load(Fixtures.Stories260KGguf);
        var c = model.Config;
        Assert.Equal(("llama", 64, 172, 5, 8, 4, 8, 512), (c.Architecture, c.HiddenSize, c.IntermediateSize, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.VocabSize));
        Assert.Equal(2048, c.MaxPositions);
        Assert.Equal(8, c.RopeDimensions);
        Assert.Equal(10000f, c.RopeTheta);
        Assert.Equal(RopeLayout.Interleaved, c.RopeLayout);
        Assert.False(c.TiedEmbeddings);
        Assert.False(c.AttentionBias);
        Assert.Null(c.RopeFrequencyFactors);
        Assert.Equal(5, model.Weights.Layers.Count);
        Assert.Equal("blk.3.ffn_down.weight", model.Weights.Layers[3].Down.Name);
        Assert.Null(model.ChatTemplate);
        Assert.Empty(model.StopTokenIds);
    }

    [Fact]
    public void Gguf_vocabulary_of_stories260K()
    {
        using var model = GgufModelReader.Load(Fixtures.Stories260KGguf);
        var v = model.Vocabulary!;
        Assert.Equal(TokenizerKind.SentencePieceBpe, v.Kind);
        Assert.Equal(512, v.Tokens.Count);
        Assert.Equal((1, 2, 0, -1), (v.BosId, v.EosId, v.UnknownId, v.PaddingId));
        Assert.Equal("<0x0A>", v.Tokens[13]);
        Assert.Equal(TokenType.Byte, v.Types![13]);
        Assert.Equal(TokenType.Control, v.Types[1]);
        Assert.Equal(-(403f - 259f), v.Scores![403]);
        Assert.True(v.AddBos);
        Assert.True(v.AddSpacePrefix);
        Assert.Null(v.Merges);
    }

    [Fact]
    public void Llama2c_config_of_stories260K()
    {
        using var model = Llama2cCheckpointReader.Load(Fixtures.Stories260KBin);
        var c = model.Config;
        Assert.Equal(("llama", 64, 172, 5, 8, 4, 8, 512, 512), (c.Architecture, c.HiddenSize, c.IntermediateSize, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.VocabSize, c.MaxPositions));
        Assert.Equal((10000f, 1e-5f, RopeLayout.Interleaved), (c.RopeTheta, c.RmsNormEps, c.RopeLayout));
        Assert.True(c.TiedEmbeddings);
        Assert.Same(model.Weights.TokenEmbedding, model.Weights.Output);
        Assert.Null(model.Vocabulary);
    }

    [Fact]
    public void Gguf_tensors_equal_llama2c_tensors_byte_for_byte()
    {
        using var gguf = GgufModelReader.Load(Fixtures.Stories260KGguf);
        using var bin = Llama2cCheckpointReader.Load(Fixtures.Stories260KBin);
        var pairs = TensorsOf(gguf.Weights).Zip(TensorsOf(bin.Weights)).ToList();
        Assert.Equal(48, pairs.Count);
        foreach (var (g, b) in pairs)
        {
            // The GGUF stores a copy of the embedding as output.weight; the checkpoint shares the embedding.
            Assert.Equal(g.Name == "output.weight" ? "token_embd.weight" : g.Name, b.Name);
            Assert.Equal(g.Shape, b.Shape);
            Assert.Equal(GgmlType.F32, b.Type);
            Assert.True(Bytes(g).SequenceEqual(Bytes(b)), $"{g.Name} differs");
        }
    }

    [Fact]
    public void Llama2c_version1_export_reads_the_same_tensors()
    {
        using var legacy = Llama2cCheckpointReader.Load(Fixtures.Stories260KBin);
        using var dir = new TempDirectory();
        var path = dir.File("v1.bin");
        WriteVersion1(legacy, path);
        using var v1 = Llama2cCheckpointReader.Load(path);
        Assert.Equal(legacy.Config, v1.Config);
        foreach (var (a, b) in TensorsOf(legacy.Weights).Zip(TensorsOf(v1.Weights)))
        {
            Assert.Equal(a.Name, b.Name);
            Assert.True(Bytes(a).SequenceEqual(Bytes(b)), $"{a.Name} differs");
        }

        Assert.Equal(1_040_384, new FileInfo(path).Length);
    }

    internal static IEnumerable<WeightTensor> TensorsOf(ModelWeights w)
    {
        yield return w.TokenEmbedding;
        yield return w.OutputNorm;
        yield return w.Output;
        foreach (var l in w.Layers)
        {
            foreach (var t in new[] { l.AttentionNorm, l.Query, l.Key, l.Value, l.Output, l.FeedForwardNorm, l.Gate, l.Up, l.Down })
            {
                yield return t;
            }
        }
    }

    internal static unsafe ReadOnlySpan<byte> Bytes(WeightTensor t) => new((void*)t.Data, checked((int)t.ByteLength));

    private static void WriteVersion1(ModelFile m, string path)
    {
        var c = m.Config;
        using var output = File.Create(path);
        using var writer = new BinaryWriter(output);
        writer.Write(0x616b3432u);
        writer.Write(1);
        foreach (var v in new[] { c.HiddenSize, c.IntermediateSize, c.LayerCount, c.HeadCount, c.KvHeadCount, c.VocabSize, c.MaxPositions })
        {
            writer.Write(v);
        }

        writer.Write((byte)1);
        writer.Write(new byte[256 - output.Position]);
        var layers = m.Weights.Layers;
        var order = layers.Select(l => l.AttentionNorm).Concat(layers.Select(l => l.FeedForwardNorm))
            .Append(m.Weights.OutputNorm).Append(m.Weights.TokenEmbedding)
            .Concat(layers.Select(l => l.Query)).Concat(layers.Select(l => l.Key)).Concat(layers.Select(l => l.Value))
            .Concat(layers.Select(l => l.Output)).Concat(layers.Select(l => l.Gate)).Concat(layers.Select(l => l.Down))
            .Concat(layers.Select(l => l.Up));
        foreach (var t in order)
        {
            writer.Write(Bytes(t));
        }
    }
}
