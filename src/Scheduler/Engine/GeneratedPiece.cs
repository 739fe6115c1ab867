using Serving.Kernels.Sampling;

namespace Serving.Scheduler.Engine;

/// <summary>One item of a request's output stream: a generated token and the text it released (empty while a
/// multi-byte character or a possible stop string is incomplete). The last item of a stream may carry text only
/// (<see cref="TokenId"/> = -1): text held back until the request ended.</summary>
/// <param name="TokenId">The generated token, or -1 for a final text-only item.</param>
/// <param name="Text">Text released by this item.</param>
/// <param name="Logprobs">The token's log-probabilities when the request asked for them, else null.</param>
public readonly record struct GeneratedPiece(int TokenId, string Text, TokenLogprobs? Logprobs = null);
