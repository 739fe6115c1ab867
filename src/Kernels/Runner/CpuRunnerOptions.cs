namespace Serving.Kernels.Runner;

/// <summary>Capacity and threading of a <see cref="CpuModelRunner"/>.</summary>
public sealed record CpuRunnerOptions
{
    /// <summary>Most new tokens one step may carry (the scheduler's token budget).</summary>
    public int MaxTokensPerStep { get; init; } = 512;

    /// <summary>Most sequences one step may carry.</summary>
    public int MaxSequences { get; init; } = 64;

    /// <summary>Kernel threads, the calling thread included; 0 means one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>Which implementation runs the dense segments.</summary>
    public DenseBackend Backend { get; init; } = DenseBackend.Native;

    /// <summary>Under <see cref="DenseBackend.Auto"/>, the smallest step (in tokens) run by ONNX Runtime.</summary>
    public int OnnxMinTokens { get; init; } = int.MaxValue;
}
