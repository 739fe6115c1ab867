namespace Serving.Kernels.Runner;

/// <summary>How the CPU runner stores cached keys and values.</summary>
public enum KvCacheDataType
{
    /// <summary>fp32: exactly what the projections computed; 4 bytes per element.</summary>
    F32,

    /// <summary>fp16, rounded to nearest even and saturated at ±65504 (the largest finite half; a NaN, which no working
    /// model produces, is not kept as NaN): half the memory, so twice the tokens in the same budget, and half the bytes
    /// attention reads per token. As llama.cpp's default cache; keys and values of real models lie well inside
    /// fp16's range.</summary>
    F16,
}
