using Serving.Kernels.Sampling;

namespace Serving.Scheduler.Generation;

/// <summary>One offline generation: prompt ids (BOS included when wanted), how many tokens at most, how to sample.</summary>
public sealed record GenerationRequest
{
    /// <summary>Prompt token ids; must not be empty (start from BOS alone for an unconditional sample).</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }

    /// <summary>Most tokens to generate.</summary>
    public required int MaxTokens { get; init; }

    /// <summary>Sampling parameters.</summary>
    public SamplingParams Sampling { get; init; } = SamplingParams.Greedy;

    /// <summary>Keep generating past end-of-sequence tokens.</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>End-of-sequence and stop tokens cannot end the request before this many tokens were generated.</summary>
    public int MinTokens { get; init; }

    /// <summary>Under the priority policy, lower values are served first (ties: earlier requests first).</summary>
    public int Priority { get; init; }

    /// <summary>Texts that end generation when they appear in the output (also across tokens); the stop text itself
    /// is not emitted.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
}
