namespace Serving.Kernels.Sampling;

/// <summary>
/// A request's logit adjustments before sampling, in place on its logits row, in vLLM's order: logit bias, then the
/// repetition penalty over prompt and output tokens, then frequency and presence penalties over output tokens. Keeps
/// the counts of generated tokens itself (<see cref="Accept"/>); applying allocates nothing.
/// </summary>
public sealed class LogitsProcessor
{
    private readonly SamplingParams _params;
    private readonly HashSet<int> _prompt = [];
    private readonly Dictionary<int, int> _generated = [];

    // An array, because enumerating the caller's IReadOnlyDictionary through the interface allocates every token.
    private readonly KeyValuePair<int, float>[] _bias;

    /// <summary>Prepares the adjustments of <paramref name="parameters"/> for a request with <paramref name="prompt"/>.</summary>
    public LogitsProcessor(SamplingParams parameters, IEnumerable<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(prompt);
        _params = parameters;
        _bias = parameters.LogitBias is null ? [] : [.. parameters.LogitBias];
        if (parameters.RepetitionPenalty != 1f)
        {
            _prompt.UnionWith(prompt);
        }
    }

    /// <summary>Records a generated token (it now counts for the penalties).</summary>
    public void Accept(int token) => _generated[token] = _generated.GetValueOrDefault(token) + 1;

    /// <summary>Adjusts <paramref name="logits"/> (one row, the whole vocabulary).</summary>
    public void Apply(Span<float> logits)
    {
        foreach (var (token, value) in _bias)
        {
            if ((uint)token < (uint)logits.Length)
            {
                logits[token] += value;
            }
        }

        var repetition = _params.RepetitionPenalty;
        if (repetition != 1f)
        {
            foreach (var token in _prompt)
            {
                Penalize(logits, token, repetition);
            }

            foreach (var (token, _) in _generated)
            {
                if (!_prompt.Contains(token))
                {
                    Penalize(logits, token, repetition);
                }
            }
        }

        if (_params.FrequencyPenalty != 0f || _params.PresencePenalty != 0f)
        {
            foreach (var (token, count) in _generated)
            {
                logits[token] -= (_params.FrequencyPenalty * count) + _params.PresencePenalty;
            }
        }
    }

    private static void Penalize(Span<float> logits, int token, float penalty)
    {
        if ((uint)token < (uint)logits.Length)
        {
            var value = logits[token];
            logits[token] = value > 0 ? value / penalty : value * penalty;
        }
    }
}
