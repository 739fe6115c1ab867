namespace Serving.Kernels.Sampling;

/// <summary>Log-probabilities of a sampled token and of the most likely alternatives, from the logits after logit
/// bias and penalties and before temperature, top-k, min-p and top-p (so they describe the model's adjusted
/// distribution, not the sampling filters).</summary>
/// <param name="Logprob">Log-probability of the sampled token.</param>
/// <param name="Top">The most likely tokens and their log-probabilities, most likely first.</param>
public sealed record TokenLogprobs(float Logprob, IReadOnlyList<(int TokenId, float Logprob)> Top)
{
    /// <summary>Computes them for <paramref name="token"/> from a full logits row.</summary>
    public static TokenLogprobs Compute(ReadOnlySpan<float> logits, int token, int top)
    {
        var max = float.NegativeInfinity;
        foreach (var value in logits)
        {
            max = MathF.Max(max, value);
        }

        var sum = 0.0;
        foreach (var value in logits)
        {
            sum += Math.Exp(value - max);
        }

        var logSum = max + (float)Math.Log(sum);

        // A short sorted list (top is at most 20): one pass over the vocabulary; equal logits keep the lower id first.
        var best = new List<(int TokenId, float Logprob)>(top + 1);
        for (var i = 0; i < logits.Length && top > 0; i++)
        {
            var value = logits[i];
            if (best.Count == top && value <= best[^1].Logprob)
            {
                continue;
            }

            var at = best.Count;
            while (at > 0 && best[at - 1].Logprob < value)
            {
                at--;
            }

            best.Insert(at, (i, value));
            if (best.Count > top)
            {
                best.RemoveAt(top);
            }
        }

        for (var i = 0; i < best.Count; i++)
        {
            best[i] = (best[i].TokenId, best[i].Logprob - logSum);
        }

        return new TokenLogprobs(logits[token] - logSum, best);
    }
}
