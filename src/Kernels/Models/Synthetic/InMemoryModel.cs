using Serving.Kernels.Cpu;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Models.Synthetic;

/// <summary>A synthetic model's tensors generated into native memory, with the <see cref="ModelWeights"/> that
/// view them. Dispose frees the memory.</summary>
public sealed class InMemoryModel : IDisposable
{
    private readonly List<NativeBuffer<byte>> _buffers = [];

    /// <summary>Generates every tensor of <paramref name="config"/> with <paramref name="matrixType"/> matrices.</summary>
    public unsafe InMemoryModel(ModelConfig config, GgmlType matrixType, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        var byName = new Dictionary<string, WeightTensor>();
        foreach (var tensor in SyntheticModel.Tensors(config, matrixType, seed))
        {
            var buffer = new NativeBuffer<byte>(tensor.ByteLength);
            _buffers.Add(buffer);
            SyntheticModel.Fill(tensor, new Span<byte>(buffer.Pointer, checked((int)tensor.ByteLength)));
            byName[tensor.Name] = new WeightTensor(tensor.Name, tensor.Type, tensor.Shape, (nint)buffer.Pointer, tensor.ByteLength);
        }

        var layers = new LayerWeights[config.LayerCount];
        for (var i = 0; i < layers.Length; i++)
        {
            var p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttentionNorm = byName[p + "attn_norm.weight"],
                Query = byName[p + "attn_q.weight"],
                Key = byName[p + "attn_k.weight"],
                Value = byName[p + "attn_v.weight"],
                Output = byName[p + "attn_output.weight"],
                FeedForwardNorm = byName[p + "ffn_norm.weight"],
                Gate = byName[p + "ffn_gate.weight"],
                Up = byName[p + "ffn_up.weight"],
                Down = byName[p + "ffn_down.weight"],
            };
        }

        Weights = new ModelWeights
        {
            TokenEmbedding = byName["token_embd.weight"],
            OutputNorm = byName["output_norm.weight"],
            Output = byName["output.weight"],
            Layers = layers,
        };
    }

    /// <summary>Hyper-parameters.</summary>
    public ModelConfig Config { get; }

    /// <summary>Tensors, valid until disposal.</summary>
    public ModelWeights Weights { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
    }
}
