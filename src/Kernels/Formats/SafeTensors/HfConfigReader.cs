using System.Text.Json;
using Serving.Kernels.Models;

namespace Serving.Kernels.Formats.SafeTensors;

/// <summary>Reads a Hugging Face <c>config.json</c> of a dense Llama, Mistral or Qwen2 model into a
/// <see cref="ModelConfig"/>. Checkpoints in this format use rotate_half RoPE (<see cref="RopeLayout.HalfSplit"/>).</summary>
internal static class HfConfigReader
{
    private static readonly Dictionary<string, string> Architectures = new(StringComparer.Ordinal)
    {
        ["LlamaForCausalLM"] = "llama",
        ["MistralForCausalLM"] = "mistral",
        ["Qwen2ForCausalLM"] = "qwen2",
    };

    public static ModelConfig Read(JsonElement root, string fileName)
    {
        var arch = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0
            ? a[0].GetString() ?? ""
            : throw new ModelFormatException($"{fileName}: 'architectures' is missing");
        if (!Architectures.TryGetValue(arch, out var family))
        {
            throw new ModelFormatException(
                $"{fileName}: architecture '{arch}' is not supported (supported: {string.Join(", ", Architectures.Keys)})");
        }

        int Int(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetInt32()
            : throw new ModelFormatException($"{fileName}: '{key}' is missing or not a number");
        int IntOr(string key, int fallback) =>
            root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        bool BoolOr(string key, bool fallback) =>
            root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

        var hidden = Int("hidden_size");
        var heads = Int("num_attention_heads");
        var headDim = IntOr("head_dim", heads > 0 ? hidden / heads : 0);
        // transformers 5 moved rope settings into 'rope_parameters'; older configs use rope_theta and rope_scaling.
        var rope = root.TryGetProperty("rope_parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p
            : root.TryGetProperty("rope_scaling", out var s) && s.ValueKind == JsonValueKind.Object ? s
            : default;
        var theta = root.TryGetProperty("rope_theta", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetSingle()
            : rope.ValueKind == JsonValueKind.Object && rope.TryGetProperty("rope_theta", out var rt) ? rt.GetSingle()
            : 10000f;
        return new ModelConfig
        {
            Architecture = family,
            HiddenSize = hidden,
            IntermediateSize = Int("intermediate_size"),
            LayerCount = Int("num_hidden_layers"),
            HeadCount = heads,
            KvHeadCount = IntOr("num_key_value_heads", heads),
            HeadDim = headDim,
            VocabSize = Int("vocab_size"),
            MaxPositions = Int("max_position_embeddings"),
            RmsNormEps = root.TryGetProperty("rms_norm_eps", out var eps) && eps.ValueKind == JsonValueKind.Number ? eps.GetSingle() : 1e-6f,
            RopeTheta = theta,
            RopeDimensions = headDim,
            RopeLayout = RopeLayout.HalfSplit,
            RopeFrequencyFactors = rope.ValueKind == JsonValueKind.Object ? RopeFactors(rope, theta, headDim, fileName) : null,
            AttentionBias = family == "qwen2" || BoolOr("attention_bias", false),
            TiedEmbeddings = BoolOr("tie_word_embeddings", false),
        };
    }

    /// <summary>Per-frequency divisors as transformers' <c>_compute_llama3_parameters</c> computes them: long
    /// wavelengths are divided by <c>factor</c>, short ones kept, and the band between interpolated smoothly.</summary>
    private static float[]? RopeFactors(JsonElement rope, float theta, int headDim, string fileName)
    {
        var type = rope.TryGetProperty("rope_type", out var rt) ? rt.GetString()
            : rope.TryGetProperty("type", out var tt) ? tt.GetString() : "default";
        if (type == "default")
        {
            return null;
        }

        if (type != "llama3")
        {
            throw new ModelFormatException($"{fileName}: rope scaling type '{type}' is not supported (supported: default, llama3)");
        }

        double Number(string key) => rope.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDouble()
            : throw new ModelFormatException($"{fileName}: llama3 rope scaling lacks '{key}'");
        var factor = Number("factor");
        var low = Number("low_freq_factor");
        var high = Number("high_freq_factor");
        var original = Number("original_max_position_embeddings");
        var lowWavelength = original / low;
        var highWavelength = original / high;
        var factors = new float[headDim / 2];
        for (var i = 0; i < factors.Length; i++)
        {
            var inverse = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            var wavelength = 2 * Math.PI / inverse;
            double scaled;
            if (wavelength < highWavelength)
            {
                scaled = inverse;
            }
            else if (wavelength > lowWavelength)
            {
                scaled = inverse / factor;
            }
            else
            {
                var smooth = ((original / wavelength) - low) / (high - low);
                scaled = ((1 - smooth) * inverse / factor) + (smooth * inverse);
            }

            factors[i] = (float)(inverse / scaled);
        }

        return factors;
    }
}
