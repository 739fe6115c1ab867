using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Formats;

/// <summary>Writes a tiny random-free model GGUF: hidden 16, 2 layers, 4 heads of 4, 2 kv heads, ffn 24, vocab 4.</summary>
internal static class TinyGguf
{
    public static void Write(string path, string arch, bool tied, bool ropeFactors, uint experts = 0)
    {
        var w = new GgufWriter();
        w.Add("general.architecture", arch);
        w.Add($"{arch}.embedding_length", 16u);
        w.Add($"{arch}.feed_forward_length", 24u);
        w.Add($"{arch}.block_count", 2u);
        w.Add($"{arch}.attention.head_count", 4u);
        w.Add($"{arch}.attention.head_count_kv", 2u);
        w.Add($"{arch}.context_length", 128u);
        w.Add($"{arch}.attention.layer_norm_rms_epsilon", 1e-6f);
        w.Add($"{arch}.rope.freq_base", 1e6f);
        if (experts > 0)
        {
            w.Add($"{arch}.expert_count", experts);
        }

        w.Add("tokenizer.ggml.model", "gpt2");
        w.Add("tokenizer.ggml.tokens", new[] { "a", "b", "ab", "<|end|>" });
        w.Add("tokenizer.ggml.token_type", new[] { 1, 1, 1, 3 });
        w.Add("tokenizer.ggml.merges", new[] { "a b" });
        w.Add("tokenizer.ggml.eos_token_id", 2u);
        w.Add("tokenizer.ggml.eot_token_id", 3u);
        w.Add("tokenizer.chat_template", "{{ messages }}");
        Tensor(w, "token_embd.weight", 4, 16);
        Tensor(w, "output_norm.weight", 16);
        if (!tied)
        {
            Tensor(w, "output.weight", 4, 16);
        }

        if (ropeFactors)
        {
            w.AddTensor("rope_freqs.weight", GgmlType.F32, [2], new byte[] { 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40 });
        }

        for (var i = 0; i < 2; i++)
        {
            Tensor(w, $"blk.{i}.attn_norm.weight", 16);
            Tensor(w, $"blk.{i}.attn_q.weight", 16, 16);
            Tensor(w, $"blk.{i}.attn_k.weight", 8, 16);
            Tensor(w, $"blk.{i}.attn_v.weight", 8, 16);
            Tensor(w, $"blk.{i}.attn_q.bias", 16);
            Tensor(w, $"blk.{i}.attn_k.bias", 8);
            Tensor(w, $"blk.{i}.attn_v.bias", 8);
            Tensor(w, $"blk.{i}.attn_output.weight", 16, 16);
            Tensor(w, $"blk.{i}.ffn_norm.weight", 16);
            Tensor(w, $"blk.{i}.ffn_gate.weight", 24, 16);
            Tensor(w, $"blk.{i}.ffn_up.weight", 24, 16);
            Tensor(w, $"blk.{i}.ffn_down.weight", 16, 24);
        }

        w.Write(path);
    }

    private static void Tensor(GgufWriter w, string name, params long[] shape) =>
        w.AddTensor(name, GgmlType.F16, shape, new byte[shape.Aggregate(2L, (a, b) => a * b)]);
}
