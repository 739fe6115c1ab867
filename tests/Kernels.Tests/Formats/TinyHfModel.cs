using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Serving.Kernels.Tests.Formats;

/// <summary>Writes a tiny Hugging Face model directory (hidden 16, 2 layers, 4 heads of 4, 2 kv heads, ffn 24,
/// vocab 8) with a minimal safetensors writer, one file or two shards with an index.</summary>
internal static class TinyHfModel
{
    public static readonly string[] Dtypes = ["F32", "F16", "BF16"];

    public static Dictionary<string, long[]> Shapes(bool bias, bool tied)
    {
        var shapes = new Dictionary<string, long[]> { ["model.embed_tokens.weight"] = [8, 16], ["model.norm.weight"] = [16] };
        if (!tied)
        {
            shapes["lm_head.weight"] = [8, 16];
        }

        for (var i = 0; i < 2; i++)
        {
            var p = $"model.layers.{i}.";
            shapes[p + "input_layernorm.weight"] = [16];
            shapes[p + "post_attention_layernorm.weight"] = [16];
            shapes[p + "self_attn.q_proj.weight"] = [16, 16];
            shapes[p + "self_attn.k_proj.weight"] = [8, 16];
            shapes[p + "self_attn.v_proj.weight"] = [8, 16];
            shapes[p + "self_attn.o_proj.weight"] = [16, 16];
            shapes[p + "mlp.gate_proj.weight"] = [24, 16];
            shapes[p + "mlp.up_proj.weight"] = [24, 16];
            shapes[p + "mlp.down_proj.weight"] = [16, 24];
            if (bias)
            {
                shapes[p + "self_attn.q_proj.bias"] = [16];
                shapes[p + "self_attn.k_proj.bias"] = [8];
                shapes[p + "self_attn.v_proj.bias"] = [8];
            }
        }

        return shapes;
    }

    public static void Write(string dir, string architecture, bool shards, string dtype = "F32", bool tied = false, string extraConfig = "")
    {
        var bias = architecture == "Qwen2ForCausalLM";
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            {"architectures": ["{{architecture}}"], "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 8, "max_position_embeddings": 64,
             "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": {{(tied ? "true" : "false")}}{{extraConfig}}}
            """);
        var tensors = Shapes(bias, tied).Select(t => (t.Key, dtype, t.Value)).ToList();
        if (!shards)
        {
            WriteSafeTensors(Path.Combine(dir, "model.safetensors"), tensors);
            return;
        }

        var half = tensors.Count / 2;
        WriteSafeTensors(Path.Combine(dir, "model-00001-of-00002.safetensors"), tensors[..half]);
        WriteSafeTensors(Path.Combine(dir, "model-00002-of-00002.safetensors"), tensors[half..]);
        var map = tensors.Select((t, i) => (t.Key, File: i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"))
            .ToDictionary(x => x.Key, x => x.File);
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), JsonSerializer.Serialize(new Dictionary<string, object> { ["weight_map"] = map }));
    }

    /// <summary>Writes tensors whose element k holds the value k (in the dtype's encoding), so views can be checked.</summary>
    public static void WriteSafeTensors(string path, IReadOnlyList<(string Name, string Dtype, long[] Shape)> tensors, Func<string, long, string>? offsetsOverride = null)
    {
        var header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        var data = new MemoryStream();
        foreach (var (name, dtype, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var begin = data.Length;
            for (var k = 0; k < count; k++)
            {
                data.Write(Encode(dtype, k));
            }

            var offsets = offsetsOverride?.Invoke(name, begin) ?? $"[{begin},{data.Length}]";
            header.Append($",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":{offsets}}}");
        }

        header.Append('}');
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        file.Write(length);
        file.Write(headerBytes);
        data.Position = 0;
        data.CopyTo(file);
    }

    private static byte[] Encode(string dtype, int value) => dtype switch
    {
        "F32" => BitConverter.GetBytes((float)value),
        "F16" => BitConverter.GetBytes((Half)value),
        "BF16" => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(value) >> 16)),
        _ => new byte[dtype switch { "I64" => 8, _ => 1 }],
    };
}
