namespace Serving.Kernels.Runner;

/// <summary>
/// The dense (per-token, attention-free) parts of a decoder step. <see cref="CpuModelRunner"/> owns the step
/// orchestration, RoPE, the KV cache and paged attention; an implementation only runs the segments between them.
/// All pointers are <c>[tokens, width]</c> row-major fp32 buffers of the runner.
/// </summary>
internal unsafe interface IDenseSegments : IDisposable
{
    /// <summary>q, k, v (biases added, RoPE not applied) from the residual stream <paramref name="x"/>.</summary>
    void PreAttention(int layer, float* x, int tokens, float* q, float* k, float* v);

    /// <summary>Updates <paramref name="x"/> in place: x += O·attended, then x += FFN(RMSNorm(x)).</summary>
    void PostAttention(int layer, float* x, float* attended, int tokens);

    /// <summary>Logits of the residual rows <paramref name="rows"/> (final RMSNorm, output projection), row by row
    /// into <paramref name="logits"/>.</summary>
    void Head(float* x, ReadOnlySpan<int> rows, float* logits);
}
