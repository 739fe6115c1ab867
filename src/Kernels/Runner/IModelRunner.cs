using Serving.Kernels.Models;

namespace Serving.Kernels.Runner;

/// <summary>Executes one engine step of a model on a device: reads and writes K/V in its paged block pool and
/// returns logits for the rows the step asks for.</summary>
public interface IModelRunner : IDisposable
{
    /// <summary>The model's hyper-parameters.</summary>
    ModelConfig Config { get; }

    /// <summary>The KV block pool this runner owns.</summary>
    KvCacheConfig KvCache { get; }

    /// <summary>Runs the step. <paramref name="logits"/> receives <c>LogitsRowCount × VocabSize</c> values, row
    /// by row in the order of <see cref="StepInput.LogitsRows"/>.</summary>
    void Execute(StepInput input, Span<float> logits);
}
