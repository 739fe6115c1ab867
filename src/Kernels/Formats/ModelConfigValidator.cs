using Serving.Kernels.Models;

namespace Serving.Kernels.Formats;

/// <summary>Refuses hyper-parameters no Llama-family model can have, before any tensor is looked at, so that shape
/// arithmetic downstream cannot divide by zero or overflow.</summary>
internal static class ModelConfigValidator
{
    public static ModelConfig Validate(ModelConfig config, string source)
    {
        void Positive(long value, string what)
        {
            if (value <= 0)
            {
                throw new ModelFormatException($"{source}: {what} is {value}, it must be positive");
            }
        }

        Positive(config.HiddenSize, "hidden size");
        Positive(config.IntermediateSize, "intermediate size");
        Positive(config.LayerCount, "layer count");
        Positive(config.HeadCount, "head count");
        Positive(config.KvHeadCount, "key/value head count");
        Positive(config.HeadDim, "head dimension");
        Positive(config.VocabSize, "vocabulary size");
        Positive(config.MaxPositions, "context length");
        if (config.HeadCount % config.KvHeadCount != 0)
        {
            throw new ModelFormatException(
                $"{source}: {config.HeadCount} query heads are not a multiple of {config.KvHeadCount} key/value heads");
        }

        if ((long)config.HeadCount * config.HeadDim > int.MaxValue)
        {
            throw new ModelFormatException($"{source}: {config.HeadCount} heads of {config.HeadDim} is absurd");
        }

        if (config.RopeDimensions <= 0 || config.RopeDimensions > config.HeadDim || config.RopeDimensions % 2 != 0)
        {
            throw new ModelFormatException(
                $"{source}: RoPE dimension count {config.RopeDimensions} must be even and between 2 and the head dimension {config.HeadDim}");
        }

        if (config.RopeFrequencyFactors is { } factors && factors.Count != config.RopeDimensions / 2)
        {
            throw new ModelFormatException(
                $"{source}: {factors.Count} RoPE frequency factors, expected {config.RopeDimensions / 2} (half the RoPE dimensions)");
        }

        if (!(config.RmsNormEps > 0) || !float.IsFinite(config.RopeTheta) || !(config.RopeTheta > 0))
        {
            throw new ModelFormatException(
                $"{source}: RMSNorm epsilon {config.RmsNormEps} and RoPE base {config.RopeTheta} must be positive");
        }

        return config;
    }
}
