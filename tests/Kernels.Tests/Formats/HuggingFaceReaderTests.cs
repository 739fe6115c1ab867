using Serving.Kernels.Formats;
using Serving.Kernels.Formats.SafeTensors;
using Serving.Kernels.Models;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Formats;

public sealed class HuggingFaceReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("F32", false, GgmlType.F32)]
    [InlineData("F16", true, GgmlType.F16)]
    [InlineData("BF16", true, GgmlType.BF16)]
    [InlineData("BF16", false, GgmlType.BF16)]
    public unsafe void Single_and_sharded_directories_read_back(string dtype, bool shards, GgmlType expected)
    {
        TinyHfModel.Write(_dir.Path, "LlamaForCausalLM", shards, dtype);
        using var model = HuggingFaceModelReader.Load(_dir.Path);
        var c = model.Config;
        Assert.Equal(("llama", 16, 24, 2, 4, 2, 4, 8, 64), (c.Architecture, c.HiddenSize, c.IntermediateSize, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.VocabSize, c.MaxPositions));
        Assert.Equal((500000f, 1e-5f, RopeLayout.HalfSplit, false, false), (c.RopeTheta, c.RmsNormEps, c.RopeLayout, c.AttentionBias, c.TiedEmbeddings));
        var down = model.Weights.Layers[1].Down;
        Assert.Equal(expected, down.Type);
        Assert.Equal([16L, 24], down.Shape);
        // Element 5 of each tensor holds the value 5 in its dtype's encoding.
        var element5 = expected switch
        {
            GgmlType.F32 => ((float*)down.Data)[5],
            GgmlType.F16 => (float)((Half*)down.Data)[5],
            _ => BitConverter.UInt32BitsToSingle((uint)((ushort*)down.Data)[5] << 16),
        };
        Assert.Equal(5f, element5);
        Assert.Equal("lm_head.weight", model.Weights.Output.Name);
        Assert.Null(model.TokenizerJsonPath);
    }

    [Fact]
    public void Qwen2_has_biases_tied_output_template_and_stop_ids()
    {
        TinyHfModel.Write(_dir.Path, "Qwen2ForCausalLM", shards: true, tied: true);
        File.WriteAllText(_dir.File("generation_config.json"), """{"eos_token_id": [6, 7]}""");
        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}""");
        File.WriteAllText(_dir.File("tokenizer.json"), "{}");
        using var model = HuggingFaceModelReader.Load(_dir.Path);
        Assert.True(model.Config.AttentionBias);
        Assert.Equal([8L], model.Weights.Layers[0].ValueBias!.Shape);
        Assert.Same(model.Weights.TokenEmbedding, model.Weights.Output);
        Assert.Equal("D", model.ChatTemplate);
        Assert.Equal([6, 7], model.StopTokenIds);
        Assert.Equal(_dir.File("tokenizer.json"), model.TokenizerJsonPath);
    }

    [Fact]
    public void Llama3_rope_scaling_gives_per_frequency_factors()
    {
        TinyHfModel.Write(_dir.Path, "LlamaForCausalLM", shards: false, extraConfig: """
            , "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
            """);
        using var model = HuggingFaceModelReader.Load(_dir.Path);
        var f = model.Config.RopeFrequencyFactors!;
        Assert.Equal(2, f.Count);
        // theta 500000, head dim 4: i=0 has wavelength 2*pi (kept); i=1 has 2*pi*sqrt(500000) ~ 4443, inside
        // [8192/4, 8192] so smoothed: s = (8192/4443 - 1) / 3, divisor 1 / ((1 - s) / 8 + s).
        Assert.Equal(1f, f[0]);
        var s = ((8192 / (2 * Math.PI * Math.Sqrt(500000))) - 1) / 3;
        Assert.Equal(1 / (((1 - s) / 8) + s), f[1], 4);
    }

    [Theory]
    [InlineData("MixtralForCausalLM")]
    [InlineData("GPT2LMHeadModel")]
    public void Unsupported_architecture_is_named(string arch)
    {
        TinyHfModel.Write(_dir.Path, arch, shards: false);
        var message = Assert.Throws<ModelFormatException>(() => HuggingFaceModelReader.Load(_dir.Path)).Message;
        Assert.Contains(arch, message);
        Assert.Contains("LlamaForCausalLM", message);
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        TinyHfModel.Write(_dir.Path, "LlamaForCausalLM", shards: false);
        var tensors = TinyHfModel.Shapes(bias: false, tied: false).Where(t => t.Key != "model.layers.1.mlp.up_proj.weight")
            .Select(t => (t.Key, "F32", t.Value)).ToList();
        TinyHfModel.WriteSafeTensors(_dir.File("model.safetensors"), tensors);
        Assert.Contains("tensor 'model.layers.1.mlp.up_proj.weight' is missing",
            Assert.Throws<ModelFormatException>(() => HuggingFaceModelReader.Load(_dir.Path)).Message);
    }

    [Fact]
    public void Unsupported_dtype_names_tensor_and_dtype()
    {
        TinyHfModel.WriteSafeTensors(_dir.File("x.safetensors"), [("w", "I64", [2])]);
        using var file = SafeTensorsFile.Open(_dir.File("x.safetensors"));
        var message = Assert.Throws<ModelFormatException>(() => file.TryGetTensor("w")).Message;
        Assert.Contains("'w'", message);
        Assert.Contains("I64", message);
    }

    [Fact]
    public void Unknown_dtype_is_refused_at_open() =>
        Assert.Contains("unknown dtype 'Q4'", OpenError([("w", "Q4", [2])]));

    [Fact]
    public void Offsets_past_the_end_are_refused() =>
        Assert.Contains("lie outside", OpenError([("w", "F32", [2])], (_, begin) => $"[{begin},{begin + 800}]"));

    [Fact]
    public void Size_inconsistent_with_shape_is_refused() =>
        Assert.Contains("span 4", OpenError([("w", "F32", [2])], (_, begin) => $"[{begin},{begin + 4}]"));

    [Fact]
    public void Overlapping_tensors_are_refused() =>
        Assert.Contains("overlap", OpenError([("a", "F32", [2]), ("b", "F32", [2])], (_, _) => "[0,8]"));

    [Fact]
    public void Entry_without_data_offsets_is_refused()
    {
        var path = _dir.File("n.safetensors");
        var header = System.Text.Encoding.UTF8.GetBytes("""{"w":{"dtype":"F32","shape":[1]}}""");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 0, 0]);
        Assert.Contains("malformed safetensors header", Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path)).Message);
    }

    [Fact]
    public void Truncated_safetensors_never_crash()
    {
        var path = _dir.File("t.safetensors");
        TinyHfModel.WriteSafeTensors(path, [("a", "F32", [4]), ("b", "BF16", [3])]);
        var bytes = File.ReadAllBytes(path);
        for (var length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        }
    }

    private string OpenError(IReadOnlyList<(string, string, long[])> tensors, Func<string, long, string>? offsets = null)
    {
        var path = _dir.File("bad.safetensors");
        TinyHfModel.WriteSafeTensors(path, tensors, offsets);
        return Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path)).Message;
    }
}
