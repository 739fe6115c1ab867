namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// A kernel whose product for one to three tokens reads several far-apart row sections at once. A core's hardware prefetchers
/// run a bounded distance ahead of each sequential stream they track, so a core that walks one stream of weights
/// keeps too few bytes in flight to cover memory latency once it computes anything per byte; walking
/// <see cref="Sections"/> streams at once multiplies the bytes in flight (see <c>docs/benchmarks.md</c>).
/// </summary>
internal unsafe interface ISectionedMatMulKernel : IMatMulKernel
{
    /// <summary>Up to how many tokens the kernel reads the weights once per token group of rows (beyond, it reuses
    /// each weight tile across tokens and is bound by arithmetic, not by bytes in flight).</summary>
    const int MaxTokens = 3;

    /// <summary>How many sections one call reads at once.</summary>
    int Sections { get; }

    /// <summary>For each token t (at most <see cref="MaxTokens"/>) and each section j below <see cref="Sections"/>,
    /// writes <c>y[t·ldy + r + j·sectionRows]</c> for r in [<paramref name="rowStart"/>, <paramref name="rowEnd"/>).
    /// Rows and <paramref name="sectionRows"/> are multiples of 8, and the results equal
    /// <see cref="IMatMulKernel.Compute"/>'s bit for bit.</summary>
    void ComputeSections(in MatMulInput input, float* y, int ldy, int rowStart, int rowEnd, int sectionRows);
}
