using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Runner;

/// <summary>What <c>--kv-cache-dtype</c> resolves to, and what the choice does to the cache's size.</summary>
public sealed class KvCacheDataTypesTests
{
    [Theory]
    [InlineData(GgmlType.F32, "auto", KvCacheDataType.F32)]
    [InlineData(GgmlType.F32, null, KvCacheDataType.F32)]
    [InlineData(GgmlType.F16, "auto", KvCacheDataType.F16)]
    [InlineData(GgmlType.Q4_0, "AUTO", KvCacheDataType.F16)]
    [InlineData(GgmlType.Q8_0, "", KvCacheDataType.F16)]
    [InlineData(GgmlType.Q4_0, "f32", KvCacheDataType.F32)]
    [InlineData(GgmlType.F32, "F16", KvCacheDataType.F16)]
    public void Auto_keeps_fp32_models_exact_and_halves_the_cache_of_the_rest(GgmlType weights, string? name, KvCacheDataType expected)
    {
        using var model = new InMemoryModel(RunnerAgreementTests.SmallConfig(), weights, seed: 1);
        Assert.Equal(expected, KvCacheDataTypes.Resolve(name, model.Weights));
    }

    [Fact]
    public void An_unknown_name_is_refused_with_the_accepted_ones()
    {
        using var model = new InMemoryModel(RunnerAgreementTests.SmallConfig(), GgmlType.F32, seed: 1);
        var error = Assert.Throws<ArgumentException>(() => KvCacheDataTypes.Resolve("fp8", model.Weights));
        Assert.Contains("auto, f32 or f16", error.Message, StringComparison.Ordinal);
        Assert.Contains("'fp8'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_fp16_pool_holds_twice_the_blocks_in_the_same_memory()
    {
        var config = RunnerAgreementTests.SmallConfig();
        Assert.Equal(KvCacheConfig.BytesPerBlock(config) / 2, KvCacheConfig.BytesPerBlock(config, dataType: KvCacheDataType.F16));
        var f32 = KvCacheConfig.ForMemory(1 << 20, config);
        var f16 = KvCacheConfig.ForMemory(1 << 20, config, dataType: KvCacheDataType.F16);
        Assert.Equal(2 * f32.BlockCount, f16.BlockCount);
        Assert.Equal(KvCacheDataType.F16, f16.DataType);
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 1);
        using var runner = new CpuModelRunner(config, model.Weights, f16, new CpuRunnerOptions { MaxTokensPerStep = 4 });
        Assert.Equal(f16.BlockCount * KvCacheConfig.BytesPerBlock(config, dataType: KvCacheDataType.F16), runner.KvCacheBytes);
    }
}
