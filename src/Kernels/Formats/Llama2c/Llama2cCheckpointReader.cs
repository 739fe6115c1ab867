using Serving.Kernels.Models;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.Llama2c;

/// <summary>Reads a llama2.c float32 checkpoint (<c>.bin</c>, legacy or version-1 header). Each layer's matrices are
/// <see cref="GgmlType.F32"/> views sliced out of the stacked arrays of the memory-mapped file.</summary>
public static class Llama2cCheckpointReader
{
    /// <summary>Opens and reads <paramref name="path"/>. The result owns the mapping and has no vocabulary (llama2.c
    /// keeps it in a separate <c>tok*.bin</c>).</summary>
    /// <exception cref="ModelFormatException">The header is invalid or the file size does not match it.</exception>
    public static ModelFile Load(string path)
    {
        var file = MappedFile.Open(path);
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

    private static ModelFile Read(MappedFile file)
    {
        var h = Llama2cHeader.Parse(file);
        if (h.Dim % h.HeadCount != 0)
        {
            throw new ModelFormatException($"{file.Name}: dim {h.Dim} is not a multiple of n_heads {h.HeadCount}");
        }

        var headDim = h.Dim / h.HeadCount;
        var config = ModelConfigValidator.Validate(
            new ModelConfig
            {
                Architecture = "llama",
                HiddenSize = h.Dim,
                IntermediateSize = h.HiddenDim,
                LayerCount = h.LayerCount,
                HeadCount = h.HeadCount,
                KvHeadCount = h.KvHeadCount,
                HeadDim = headDim,
                VocabSize = h.VocabSize,
                MaxPositions = h.SeqLen,
                RopeDimensions = headDim,
                RopeLayout = RopeLayout.Interleaved,
                TiedEmbeddings = h.SharedClassifier,
            },
            file.Name);
        var tensors = Slice(file, h, config);
        var weights = new WeightsAssembler(config, TensorNaming.Gguf, n => tensors.GetValueOrDefault(n), file.Name).Build();
        return new ModelFile(file.Path, config, weights, [file]);
    }

    private static Dictionary<string, WeightTensor> Slice(MappedFile file, Llama2cHeader h, ModelConfig c)
    {
        var layout = new Llama2cLayout(file, h.HeaderSize);
        string Layer(int i, string role) => TensorNaming.Gguf.Layer(i, role);
        long d = c.HiddenSize, q = c.QDim, kv = c.KvDim, f = c.IntermediateSize, v = c.VocabSize;
        if (h.Version == 0)
        {
            layout.Single(TensorNaming.Gguf.TokenEmbedding, v, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.AttentionNorm), d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Query), q, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Key), kv, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Value), kv, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.AttentionOutput), d, q);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.FeedForwardNorm), d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Gate), f, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Down), d, f);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Up), f, d);
            layout.Single(TensorNaming.Gguf.OutputNorm, d);
            // Old exports wrote freq_cis_real and freq_cis_imag (seq_len * head_size / 2 floats each) here; newer
            // ones omit them. The file size tells which, and run.c ignores their contents.
            var freqCis = (Int128)2 * h.SeqLen * (c.HeadDim / 2) * sizeof(float);
            var classifier = h.SharedClassifier ? 0 : (Int128)v * d * sizeof(float);
            if (file.Length == layout.End + freqCis + classifier)
            {
                layout.Skip((long)freqCis);
            }
            else if (file.Length != layout.End + classifier)
            {
                throw new ModelFormatException(
                    $"{file.Name}: the legacy header implies {layout.End + freqCis + classifier} bytes (or {layout.End + classifier} " +
                    $"without the freq_cis tables), but the file has {file.Length}");
            }
        }
        else
        {
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.AttentionNorm), d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.FeedForwardNorm), d);
            layout.Single(TensorNaming.Gguf.OutputNorm, d);
            layout.Single(TensorNaming.Gguf.TokenEmbedding, v, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Query), q, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Key), kv, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Value), kv, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.AttentionOutput), d, q);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Gate), f, d);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Down), d, f);
            layout.Stacked(c.LayerCount, i => Layer(i, TensorNaming.Roles.Up), f, d);
        }

        if (!h.SharedClassifier)
        {
            layout.Single(TensorNaming.Gguf.Output, v, d);
        }

        if (file.Length != layout.End)
        {
            throw new ModelFormatException(
                $"{file.Name}: the version-{h.Version} header implies {layout.End} bytes, but the file has {file.Length}");
        }

        return layout.Tensors;
    }
}
