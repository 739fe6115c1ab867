namespace Serving.Kernels.Models.Synthetic;

/// <summary>Shapes of real models, for random-weight models that measure speed and size (speed does not depend on
/// weight values).</summary>
public static class SyntheticPreset
{
    /// <summary>Preset names accepted by <see cref="Get"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "tinyllama-1.1b"];

    /// <summary>The configuration of preset <paramref name="name"/>.</summary>
    public static ModelConfig Get(string name) => name switch
    {
        // A few MB: small enough to build in memory at every start, wide enough to exercise GQA and every kernel path.
        "tiny" => new ModelConfig
        {
            Architecture = "llama",
            HiddenSize = 128,
            IntermediateSize = 352,
            LayerCount = 4,
            HeadCount = 4,
            KvHeadCount = 2,
            HeadDim = 32,
            VocabSize = 1024,
            MaxPositions = 2048,
            RopeDimensions = 32,
        },

        // TinyLlama-1.1B-Chat's shape.
        "tinyllama-1.1b" => new ModelConfig
        {
            Architecture = "llama",
            HiddenSize = 2048,
            IntermediateSize = 5632,
            LayerCount = 22,
            HeadCount = 32,
            KvHeadCount = 4,
            HeadDim = 64,
            VocabSize = 32000,
            MaxPositions = 2048,
            RopeDimensions = 64,
        },
        _ => throw new ArgumentException($"unknown preset '{name}'; presets: {string.Join(", ", Names)}", nameof(name)),
    };
}
