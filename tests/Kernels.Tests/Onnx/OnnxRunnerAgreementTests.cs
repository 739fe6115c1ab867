using Serving.Kernels.Models;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Kernels.Tensors;
using Serving.Kernels.Tests.Runner;

namespace Serving.Kernels.Tests.Onnx;

/// <summary>
/// The ONNX Runtime dense segments inside the CPU runner against <see cref="ReferenceForward"/>: the same script as
/// <see cref="RunnerAgreementTests"/> (GQA, several sequences of mixed lengths, multi-token steps over cached context,
/// scattered blocks). fp32/fp16/bf16 lower to fp32 Gemm (1e-4); Q8_0/Q4_0 lower to MatMulNBits with accuracy level 4,
/// whose int8 activations give the same kind of error as our own int8 kernels (5e-2).
/// </summary>
public sealed class OnnxRunnerAgreementTests
{
    [Theory]
    [InlineData(GgmlType.F32, RopeLayout.Interleaved, 1e-4)]
    [InlineData(GgmlType.F16, RopeLayout.HalfSplit, 1e-4)]
    [InlineData(GgmlType.BF16, RopeLayout.Interleaved, 1e-4)]
    [InlineData(GgmlType.Q8_0, RopeLayout.Interleaved, 5e-2)]
    [InlineData(GgmlType.Q4_0, RopeLayout.HalfSplit, 5e-2)]
    public void Mixed_batches_match_reference(GgmlType type, RopeLayout layout, double tolerance)
    {
        var config = RunnerAgreementTests.SmallConfig() with { RopeLayout = layout };
        using var model = new InMemoryModel(config, type, seed: 7);
        var worst = RunnerAgreementTests.RunScript(config, model.Weights, backend: DenseBackend.Onnx);
        Assert.True(worst <= tolerance, $"max relative logit error {worst:E3} exceeds {tolerance:E1}");
    }

    /// <summary>The script's steps have 9, 13 and 7 tokens: the 13-token step runs on ONNX Runtime, the others on our
    /// kernels, all over one KV cache.</summary>
    [Fact]
    public void Auto_switches_backends_per_step_over_one_cache()
    {
        var config = RunnerAgreementTests.SmallConfig();
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 13);
        Assert.True(RunnerAgreementTests.RunScript(config, model.Weights, backend: DenseBackend.Auto, onnxMinTokens: 10) <= 1e-4);
    }

    [Theory]
    [InlineData(DenseBackend.Native)]
    [InlineData(DenseBackend.Onnx)]
    public unsafe void Qwen2_biases_are_applied(DenseBackend backend)
    {
        var config = RunnerAgreementTests.SmallConfig() with { Architecture = "qwen2", AttentionBias = true, RopeLayout = RopeLayout.HalfSplit };
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 9);
        var random = new Random(3);
        var biases = new float[config.QDim + (2 * config.KvDim)];
        for (var i = 0; i < biases.Length; i++)
        {
            biases[i] = (float)(random.NextDouble() - 0.5);
        }

        fixed (float* pinned = biases)
        {
            var b = (nint)pinned;
            WeightTensor Bias(string name, int offset, int length) =>
                new(name, GgmlType.F32, [length], b + (offset * sizeof(float)), length * sizeof(float));
            var weights = model.Weights with
            {
                Layers = [.. model.Weights.Layers.Select(l => l with
                {
                    QueryBias = Bias("q.bias", 0, config.QDim),
                    KeyBias = Bias("k.bias", config.QDim, config.KvDim),
                    ValueBias = Bias("v.bias", config.QDim + config.KvDim, config.KvDim),
                })],
            };
            Assert.True(RunnerAgreementTests.RunScript(config, weights, backend: backend) <= 1e-4);
        }
    }
}
