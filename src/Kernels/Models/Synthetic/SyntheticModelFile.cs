using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Models.Synthetic;

/// <summary>Writes a random-weight model as a GGUF file with the metadata keys llama.cpp reads for the "llama"
/// architecture and a synthetic SentencePiece vocabulary, so other GGUF readers can load it too.</summary>
public static class SyntheticModelFile
{
    /// <summary>Writes preset <paramref name="preset"/> with <paramref name="matrixType"/> matrices to
    /// <paramref name="path"/>, one tensor in memory at a time.</summary>
    public static void Write(string preset, GgmlType matrixType, ulong seed, string path)
    {
        if (!GgmlTypeInfo.IsSupportedWeightType(matrixType))
        {
            throw new ArgumentException($"weights cannot be written as {matrixType}; choose f32, f16, bf16, q8_0, q4_0, q4_k, q5_k or q6_k", nameof(matrixType));
        }

        var config = SyntheticPreset.Get(preset);
        var block = GgmlTypeInfo.BlockSize(matrixType);
        if (config.HiddenSize % block != 0 || config.IntermediateSize % block != 0 || config.QDim % block != 0)
        {
            throw new ArgumentException(
                $"{matrixType} stores rows in blocks of {block} weights, but preset '{preset}' has rows of {config.HiddenSize}, " +
                $"{config.QDim} and {config.IntermediateSize}", nameof(matrixType));
        }

        var vocabulary = SyntheticVocabulary.Create(config.VocabSize);
        var writer = new GgufWriter();
        writer.Add("general.architecture", "llama");
        writer.Add("general.name", $"{preset}-random-seed{seed}");
        writer.Add("general.file_type", FileType(matrixType));
        writer.Add("llama.context_length", (uint)config.MaxPositions);
        writer.Add("llama.embedding_length", (uint)config.HiddenSize);
        writer.Add("llama.block_count", (uint)config.LayerCount);
        writer.Add("llama.feed_forward_length", (uint)config.IntermediateSize);
        writer.Add("llama.rope.dimension_count", (uint)config.HeadDim);
        writer.Add("llama.attention.head_count", (uint)config.HeadCount);
        writer.Add("llama.attention.head_count_kv", (uint)config.KvHeadCount);
        writer.Add("llama.attention.layer_norm_rms_epsilon", config.RmsNormEps);
        writer.Add("llama.rope.freq_base", config.RopeTheta);
        writer.Add("llama.vocab_size", (uint)config.VocabSize);
        writer.Add("tokenizer.ggml.model", "llama");
        writer.Add("tokenizer.ggml.tokens", vocabulary.Tokens.ToArray());
        writer.Add("tokenizer.ggml.scores", vocabulary.Scores!.ToArray());
        writer.Add("tokenizer.ggml.token_type", vocabulary.Types!.Select(t => (int)t).ToArray());
        writer.Add("tokenizer.ggml.bos_token_id", (uint)vocabulary.BosId);
        writer.Add("tokenizer.ggml.eos_token_id", (uint)vocabulary.EosId);
        writer.Add("tokenizer.ggml.unknown_token_id", (uint)vocabulary.UnknownId);
        writer.Add("tokenizer.ggml.add_bos_token", true);
        writer.Add("tokenizer.ggml.add_eos_token", false);
        foreach (var tensor in SyntheticModel.Tensors(config, matrixType, seed))
        {
            writer.AddTensor(tensor.Name, tensor.Type, tensor.Shape, stream =>
            {
                var bytes = new byte[tensor.ByteLength];
                SyntheticModel.Fill(tensor, bytes);
                stream.Write(bytes);
            });
        }

        var temporary = path + ".partial";
        writer.Write(temporary);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>llama.cpp's general.file_type (llama_ftype) for a model whose matrices are all of one type.</summary>
    private static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q8_0 => 7,
        GgmlType.Q4_K => 14,
        GgmlType.Q5_K => 16,
        GgmlType.Q6_K => 18,
        GgmlType.BF16 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no llama.cpp file type"),
    };
}
