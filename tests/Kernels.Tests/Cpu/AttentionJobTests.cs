using Serving.Kernels.Cpu;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Tests.Cpu;

public sealed unsafe class AttentionJobTests
{
    /// <summary>The key kernels index blocks by the block size the job was built for, so a step or cache with another
    /// block size is refused instead of read at the wrong slots.</summary>
    [Fact]
    public void A_step_or_cache_with_another_block_size_is_refused()
    {
        using var job = new AttentionJob(heads: 4, kvHeads: 2, headDim: 8, maxContext: 64, blockSize: 16, threads: 1);
        using var cache16 = new KvCacheStorage(layers: 1, blocks: 4, blockSize: 16, kvHeads: 2, headDim: 8);
        using var cache8 = new KvCacheStorage(layers: 1, blocks: 8, blockSize: 8, kvHeads: 2, headDim: 8);
        using var buffer = new NativeBuffer<float>(64);
        var step16 = new StepInput(1, 1, 4, 16);
        step16.AddSequence([1], 0, [0], 1);
        var step8 = new StepInput(1, 1, 8, 8);
        step8.AddSequence([1], 0, [0], 1);

        job.Set(step16, buffer.Pointer, buffer.Pointer, cache16, 0);
        Assert.Contains("blocks of 16 tokens", Assert.Throws<ArgumentException>(() => job.Set(step8, buffer.Pointer, buffer.Pointer, cache16, 0)).Message);
        Assert.Throws<ArgumentException>(() => job.Set(step16, buffer.Pointer, buffer.Pointer, cache8, 0));
    }
}
