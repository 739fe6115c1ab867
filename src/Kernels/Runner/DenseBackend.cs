namespace Serving.Kernels.Runner;

/// <summary>Which implementation runs the dense (attention-free) segments of a CPU step.</summary>
public enum DenseBackend
{
    /// <summary>Our SIMD kernels over the stored weights.</summary>
    Native,

    /// <summary>ONNX Runtime's CPU execution provider (MLAS) on graphs lowered from the architecture definition.</summary>
    Onnx,

    /// <summary>Per step: ONNX Runtime from <see cref="CpuRunnerOptions.OnnxMinTokens"/> tokens up, native below.</summary>
    Auto,
}
