using Serving.Kernels.Formats;
using Serving.Kernels.Runner;

namespace Serving.Kernels.Tests.Onnx;

/// <summary>The real stories260K model with its dense segments on ONNX Runtime reproduces llama2.c's greedy
/// generation (run.c -t 0 from BOS; ids in shared/models/stories260K/SOURCE.md).</summary>
public sealed class OnnxStories260KTests
{
    private static readonly int[] RunCGreedy =
    [
        403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
        401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
        328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
        337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13, 438, 310,
    ];

    [Theory]
    [InlineData("stories260K.bin")]
    [InlineData("stories260K.gguf")]
    public void Greedy_tokens_match_run_c(string file)
    {
        using var model = ModelLoader.Load(Path.Combine(Fixtures.Stories260K, file));
        var options = new CpuRunnerOptions { MaxTokensPerStep = 8, Threads = 2, Backend = DenseBackend.Onnx };
        using var runner = new CpuModelRunner(model, new KvCacheConfig(8, 16), options);
        var step = new StepInput(8, 1, 8, 16);
        var logits = new float[model.Config.VocabSize];
        var token = 1;
        var generated = new int[RunCGreedy.Length];
        for (var position = 0; position < RunCGreedy.Length; position++)
        {
            step.Clear();
            step.AddSequence([token], position, [5, 1, 7, 0, 2], 1);
            runner.Execute(step, logits);
            token = Array.IndexOf(logits, logits.Max());
            generated[position] = token;
        }

        Assert.Equal(RunCGreedy, generated);
    }
}
