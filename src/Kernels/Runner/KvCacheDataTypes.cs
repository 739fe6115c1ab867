using Serving.Kernels.Models;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Runner;

/// <summary>The <c>--kv-cache-dtype</c> choice: <c>auto</c>, <c>f32</c> or <c>f16</c>.</summary>
public static class KvCacheDataTypes
{
    /// <summary>The accepted names, for messages.</summary>
    public const string Names = "auto, f32 or f16";

    /// <summary>The element type <paramref name="name"/> asks for: <c>f32</c>, <c>f16</c>, or for <c>auto</c> (and an
    /// empty name) fp32 when the model's key projection is stored in fp32 and fp16 otherwise. An fp32 model is run to
    /// match a float64 reference to 1e-4 and its cache keeps that; fp16, bf16 and quantized models carry more rounding
    /// in their weights than fp16 adds to K and V, and get twice the cached tokens for the memory, as llama.cpp's
    /// default fp16 cache gives them.</summary>
    /// <exception cref="ArgumentException">The name is none of <see cref="Names"/>.</exception>
    public static KvCacheDataType Resolve(string? name, ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return name?.Trim().ToUpperInvariant() switch
        {
            null or "" or "AUTO" => weights.Layers.Count > 0 && weights.Layers[0].Key.Type == GgmlType.F32 ? KvCacheDataType.F32 : KvCacheDataType.F16,
            "F32" or "FLOAT32" => KvCacheDataType.F32,
            "F16" or "FLOAT16" or "HALF" => KvCacheDataType.F16,
            _ => throw new ArgumentException($"the KV cache dtype must be {Names}, not '{name}'", nameof(name)),
        };
    }
}
