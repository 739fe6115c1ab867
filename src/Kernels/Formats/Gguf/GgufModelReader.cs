using Serving.Kernels.Models;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>Reads a dense Llama-family model (GGUF architectures <c>llama</c>, <c>mistral</c>, <c>qwen2</c>) from a
/// GGUF file: configuration, memory-mapped weights, vocabulary, chat template and extra stop ids.</summary>
public static class GgufModelReader
{
    private static readonly string[] SupportedArchitectures = ["llama", "mistral", "qwen2"];

    /// <summary>Opens and reads <paramref name="path"/>. The result owns the mapping.</summary>
    /// <exception cref="ModelFormatException">The file is malformed, or holds a model this server cannot run.</exception>
    public static ModelFile Load(string path)
    {
        var file = GgufFile.Open(path);
        try
        {
            return Read(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static ModelFile Read(GgufFile file)
    {
        var name = Path.GetFileName(file.Path);
        var metadata = file.Metadata;
        var config = ModelConfigValidator.Validate(ReadConfig(file, name), name);
        var weights = new WeightsAssembler(config, TensorNaming.Gguf, n => file.Tensors.GetValueOrDefault(n), name).Build();
        var vocabulary = GgufVocabularyReader.Read(metadata, name);
        if (vocabulary.Tokens.Count != config.VocabSize)
        {
            throw new ModelFormatException(
                $"{name}: the vocabulary has {vocabulary.Tokens.Count} tokens but the model has {config.VocabSize} embedding rows");
        }

        var stops = new List<int>();
        foreach (var key in (string[])["eot_token_id", "eom_token_id"])
        {
            var id = GgufVocabularyReader.TokenId(metadata, key, vocabulary.Tokens.Count, name);
            if (id >= 0 && id != vocabulary.EosId && !stops.Contains(id))
            {
                stops.Add(id);
            }
        }

        return new ModelFile(file.Path, config, weights, [file])
        {
            Vocabulary = vocabulary,
            ChatTemplate = metadata.TryGetString("tokenizer.chat_template", out var template) ? template : null,
            StopTokenIds = stops,
        };
    }

    private static ModelConfig ReadConfig(GgufFile file, string name)
    {
        var metadata = file.Metadata;
        var arch = metadata.GetString("general.architecture");
        if (!SupportedArchitectures.Contains(arch))
        {
            throw new ModelFormatException(
                $"{name}: architecture '{arch}' is not supported (supported: {string.Join(", ", SupportedArchitectures)})");
        }

        if ((metadata.TryGetUInt32(arch + ".expert_count", out var experts) && experts > 0)
            || file.Tensors.Keys.Any(t => t.Contains("_exps", StringComparison.Ordinal)))
        {
            throw new ModelFormatException(
                $"{name}: architecture '{arch}' with mixture-of-experts tensors is not supported (supported: dense {string.Join(", ", SupportedArchitectures)})");
        }

        int Int(string key) => ToInt(metadata.GetUInt32(arch + key), arch + key, name);
        int IntOr(string key, int fallback) =>
            metadata.TryGetUInt32(arch + key, out var v) ? ToInt(v, arch + key, name) : fallback;

        var hidden = Int(".embedding_length");
        var heads = Int(".attention.head_count");
        var headDim = IntOr(".attention.key_length", heads > 0 && hidden % heads == 0 ? hidden / heads : 0);
        var ropeDims = IntOr(".rope.dimension_count", headDim);
        var vocab = IntOr(".vocab_size", metadata.TryGetStringArray("tokenizer.ggml.tokens", out var tokens) ? tokens.Count : 0);
        return new ModelConfig
        {
            Architecture = arch,
            HiddenSize = hidden,
            IntermediateSize = Int(".feed_forward_length"),
            LayerCount = Int(".block_count"),
            HeadCount = heads,
            KvHeadCount = IntOr(".attention.head_count_kv", heads),
            HeadDim = headDim,
            VocabSize = vocab,
            MaxPositions = Int(".context_length"),
            RmsNormEps = metadata.GetFloat32(arch + ".attention.layer_norm_rms_epsilon"),
            RopeTheta = metadata.TryGetFloat32(arch + ".rope.freq_base", out var theta) ? theta : 10000f,
            RopeDimensions = ropeDims,
            // llama.cpp's converter permutes llama/mistral Q/K rows into adjacent pairs; qwen2 runs with NEOX rope.
            RopeLayout = arch == "qwen2" ? RopeLayout.HalfSplit : RopeLayout.Interleaved,
            RopeFrequencyFactors = file.Tensors.TryGetValue("rope_freqs.weight", out var freqs) ? ReadFactors(freqs, ropeDims, name) : null,
            AttentionBias = arch == "qwen2" || file.Tensors.ContainsKey("blk.0.attn_q.bias"),
            TiedEmbeddings = !file.Tensors.ContainsKey("output.weight"),
        };
    }

    private static int ToInt(uint value, string key, string name) =>
        value <= int.MaxValue ? (int)value : throw new ModelFormatException($"{name}: {key} = {value} is absurd");

    private static unsafe float[] ReadFactors(WeightTensor tensor, int ropeDims, string name)
    {
        if (tensor.Type != GgmlType.F32 || tensor.Shape is not [var length] || length != ropeDims / 2)
        {
            throw new ModelFormatException(
                $"{name}: tensor 'rope_freqs.weight' is {tensor.Type} {tensor.ShapeText}, expected F32 [{ropeDims / 2}]");
        }

        return new ReadOnlySpan<float>((void*)tensor.Data, (int)length).ToArray();
    }
}
