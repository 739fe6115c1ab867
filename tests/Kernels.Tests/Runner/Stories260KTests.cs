using Serving.Kernels.Formats;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Tests.Runner;

/// <summary>The real stories260K model: the fast runner against the float64 reference and against the logits that
/// upstream llama2.c's run.c printed (SOURCE.md).</summary>
public sealed class Stories260KTests
{
    private static readonly int[] GreedyPrefix = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];

    [Theory]
    [InlineData("stories260K.gguf")]
    [InlineData("stories260K.bin")]
    public void Runner_matches_reference_forward(string file)
    {
        using var model = ModelLoader.Load(Path.Combine(Fixtures.Stories260K, file));
        var reference = new ReferenceForward(model.Config, model.Weights);
        using var runner = new CpuModelRunner(model, new KvCacheConfig(4, 16), new CpuRunnerOptions { MaxTokensPerStep = 16, Threads = 2 });
        var step = new StepInput(16, 1, 4, 16);
        step.AddSequence(GreedyPrefix.AsSpan(0, 10), 0, [2, 0], 10);
        var first = new float[10 * 512];
        runner.Execute(step, first);
        step.Clear();
        step.AddSequence(GreedyPrefix.AsSpan(10), 10, [2, 0], 6);
        var second = new float[6 * 512];
        runner.Execute(step, second);
        var all = first.Concat(second).ToArray();
        var worst = 0.0;
        for (var p = 0; p < GreedyPrefix.Length; p++)
        {
            var expected = reference.Next(GreedyPrefix[p]);
            var maxRef = expected.Max(Math.Abs);
            for (var i = 0; i < 512; i++)
            {
                worst = Math.Max(worst, Math.Abs(all[(p * 512) + i] - expected[i]) / maxRef);
            }
        }

        Assert.True(worst <= 1e-4, $"max relative logit error {worst:E3}");
    }

    [Fact]
    public void Logits_match_llama2c_run_c()
    {
        using var model = ModelLoader.Load(Fixtures.Stories260KBin);
        using var runner = new CpuModelRunner(model, new KvCacheConfig(1, 16), new CpuRunnerOptions { MaxTokensPerStep = 8 });
        var step = new StepInput(8, 1, 1, 16);
        step.AddSequence(GreedyPrefix.AsSpan(0, 5), 0, [0], 5);
        var logits = new float[5 * 512];
        runner.Execute(step, logits);
        float[] atPos0 = [-6.222911f, 8.404342f, -6.223737f, -6.222542f, -6.221951f, -6.222875f, -6.221880f, -6.223416f];
        float[] atPos4 = [-10.136575f, -5.329466f, -10.138081f, -10.136852f, -10.137212f, -10.138329f, -10.137267f, -10.137636f];
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(atPos0[i], logits[i], 1e-4f);
            Assert.Equal(atPos4[i], logits[(4 * 512) + i], 1e-4f);
        }

        Assert.Equal(17.023516f, logits.AsSpan(0, 512).ToArray().Max(), 1e-4f);
        Assert.Equal(403, Array.IndexOf(logits, logits.AsSpan(0, 512).ToArray().Max()));
        Assert.Equal(17.799398f, logits.AsSpan(4 * 512, 512).ToArray().Max(), 1e-4f);
    }
}
