using Serving.Kernels.Tensors;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Models.Synthetic;

/// <summary>The built-in model used when no model is given: the "tiny" preset with fixed-seed random fp32 weights
/// and a synthetic vocabulary, built in memory in well under a second. It produces word-like noise, not language;
/// it exists so the server starts and every path runs without any file or network.</summary>
public static class DemoModel
{
    /// <summary>Seed of the demo weights (fixed, so every start gives the same model).</summary>
    public const ulong Seed = 20261126;

    /// <summary>Name the demo model is listed under.</summary>
    public const string Name = "demo-tiny-random";

    /// <summary>Builds the demo model.</summary>
    public static LoadedModel Create()
    {
        var config = SyntheticPreset.Get("tiny");
        var weights = new InMemoryModel(config, GgmlType.F32, Seed);
        var tokenizer = TokenizerFactory.Create(SyntheticVocabulary.Create(config.VocabSize));
        return new LoadedModel($"built-in {Name} (preset tiny, seed {Seed})", config, weights.Weights, tokenizer, [weights]);
    }
}
