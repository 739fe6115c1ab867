using System.Buffers.Binary;
using System.Text;
using Serving.Kernels.Formats;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Runner;

/// <summary>
/// The same trained model in both RoPE conventions: stories260K's GGUF (interleaved pairs, Q/K rows as llama.cpp's
/// converter permuted them) rewritten as a Hugging Face directory with Q/K rows in the checkpoint order that
/// "rotate_half" expects. Both must give the same logits, which only holds if each source's layout is honoured.
/// </summary>
public sealed class RopeLayoutEquivalenceTests : IDisposable
{
    private static readonly int[] Prefix = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315];
    private readonly string _dir = Directory.CreateTempSubdirectory("hf-stories").FullName;

    [Fact]
    public void Hugging_Face_half_split_checkpoint_matches_gguf_interleaved()
    {
        using var gguf = ModelLoader.Load(Fixtures.Stories260KGguf);
        WriteHuggingFace(gguf);
        using var hf = ModelLoader.Load(_dir, Fixtures.Tok512Path);
        Assert.Equal(RopeLayout.HalfSplit, hf.Config.RopeLayout);
        Assert.Equal(RopeLayout.Interleaved, gguf.Config.RopeLayout);

        var expected = Logits(gguf);
        var actual = Logits(hf);
        var scale = expected.Max(Math.Abs);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale, $"logit {i}: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Without_the_permutation_the_logits_differ()
    {
        using var gguf = ModelLoader.Load(Fixtures.Stories260KGguf);
        WriteHuggingFace(gguf, permute: false);
        using var hf = ModelLoader.Load(_dir, Fixtures.Tok512Path);
        var expected = Logits(gguf);
        var actual = Logits(hf);
        Assert.True(expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max() > 0.1);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static float[] Logits(LoadedModel model)
    {
        using var runner = new CpuModelRunner(model, new KvCacheConfig(2, 16), new CpuRunnerOptions { MaxTokensPerStep = 16 });
        var step = new StepInput(16, 1, 2, 16);
        step.AddSequence(Prefix, 0, [1, 0], Prefix.Length);
        var logits = new float[Prefix.Length * model.Config.VocabSize];
        runner.Execute(step, logits);
        return logits;
    }

    private static unsafe byte[] Bytes(WeightTensor t) => new ReadOnlySpan<byte>((void*)t.Data, (int)t.ByteLength).ToArray();

    /// <summary>Inverse of llama.cpp's Q/K permutation: within each head, GGUF row 2j+h holds checkpoint row
    /// h·(headDim/2)+j.</summary>
    private static byte[] ToHalfSplit(WeightTensor t, int headDim)
    {
        var source = Bytes(t);
        var rowBytes = (int)t.RowBytes;
        var result = new byte[source.Length];
        for (var head = 0; head < t.Rows / headDim; head++)
        {
            for (var half = 0; half < 2; half++)
            {
                for (var j = 0; j < headDim / 2; j++)
                {
                    var from = (head * headDim) + (2 * j) + half;
                    var to = (head * headDim) + (half * headDim / 2) + j;
                    Array.Copy(source, from * rowBytes, result, to * rowBytes, rowBytes);
                }
            }
        }

        return result;
    }

    private void WriteHuggingFace(LoadedModel gguf, bool permute = true)
    {
        var c = gguf.Config;
        File.WriteAllText(Path.Combine(_dir, "config.json"), $$"""
            {"architectures": ["LlamaForCausalLM"], "hidden_size": {{c.HiddenSize}}, "intermediate_size": {{c.IntermediateSize}},
             "num_hidden_layers": {{c.LayerCount}}, "num_attention_heads": {{c.HeadCount}}, "num_key_value_heads": {{c.KvHeadCount}},
             "vocab_size": {{c.VocabSize}}, "max_position_embeddings": 512, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
             "tie_word_embeddings": true}
            """);
        var w = gguf.Weights;
        var tensors = new List<(string Name, WeightTensor Tensor, byte[] Data)>
        {
            ("model.embed_tokens.weight", w.TokenEmbedding, Bytes(w.TokenEmbedding)),
            ("model.norm.weight", w.OutputNorm, Bytes(w.OutputNorm)),
        };
        for (var i = 0; i < w.Layers.Count; i++)
        {
            var l = w.Layers[i];
            var p = $"model.layers.{i}.";
            tensors.Add((p + "input_layernorm.weight", l.AttentionNorm, Bytes(l.AttentionNorm)));
            tensors.Add((p + "post_attention_layernorm.weight", l.FeedForwardNorm, Bytes(l.FeedForwardNorm)));
            tensors.Add((p + "self_attn.q_proj.weight", l.Query, permute ? ToHalfSplit(l.Query, c.HeadDim) : Bytes(l.Query)));
            tensors.Add((p + "self_attn.k_proj.weight", l.Key, permute ? ToHalfSplit(l.Key, c.HeadDim) : Bytes(l.Key)));
            tensors.Add((p + "self_attn.v_proj.weight", l.Value, Bytes(l.Value)));
            tensors.Add((p + "self_attn.o_proj.weight", l.Output, Bytes(l.Output)));
            tensors.Add((p + "mlp.gate_proj.weight", l.Gate, Bytes(l.Gate)));
            tensors.Add((p + "mlp.up_proj.weight", l.Up, Bytes(l.Up)));
            tensors.Add((p + "mlp.down_proj.weight", l.Down, Bytes(l.Down)));
        }

        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, tensor, data) in tensors)
        {
            Assert.Equal(GgmlType.F32, tensor.Type);
            header.Append($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", tensor.Shape)}],\"data_offsets\":[{offset},{offset + data.Length}]}},");
            offset += data.Length;
        }

        header.Length--;
        header.Append('}');
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using var file = File.Create(Path.Combine(_dir, "model.safetensors"));
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        file.Write(length);
        file.Write(headerBytes);
        foreach (var (_, _, data) in tensors)
        {
            file.Write(data);
        }
    }
}
