using Serving.Kernels.Sampling;

namespace Serving.Server.Inference;

/// <summary>What one choice produced since its last update: text released, tokens generated, their logprobs when
/// asked for, and — on the last update — why it finished.</summary>
internal readonly record struct ChoiceUpdate(int Index, string Text, IReadOnlyList<int> TokenIds, IReadOnlyList<(int TokenId, TokenLogprobs Logprobs)>? Logprobs, string? FinishReason)
{
    /// <summary>How many tokens the update carries.</summary>
    public int Tokens => TokenIds.Count;
}
