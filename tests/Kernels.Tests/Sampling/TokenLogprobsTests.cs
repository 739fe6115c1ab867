using CsCheck;
using Serving.Kernels.Sampling;

namespace Serving.Kernels.Tests.Sampling;

public sealed class TokenLogprobsTests
{
    [Fact]
    public void Logprobs_are_a_log_softmax_and_top_is_sorted() =>
        Gen.Float[-20f, 20f].Array[2, 60].Select(Gen.Int[0, 20]).Sample((logits, top) =>
        {
            var token = logits.Length / 2;
            var result = TokenLogprobs.Compute(logits, token, top);
            var max = logits.Max();
            var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            Assert.Equal(logits[token] - logSum, result.Logprob, 1e-4);
            var expected = logits.Select((l, i) => (TokenId: i, Logprob: l)).OrderByDescending(p => p.Logprob).ThenBy(p => p.TokenId).Take(top).ToArray();
            Assert.Equal(expected.Select(p => p.TokenId), result.Top.Select(p => p.TokenId));
            Assert.All(result.Top, p => Assert.Equal(logits[p.TokenId] - logSum, p.Logprob, 1e-4));
        });

    [Fact]
    public void Top_logprobs_outside_0_to_20_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SamplingParams { Logprobs = 21 }.Validate());
        Assert.Throws<ArgumentException>(() => new SamplingParams { Logprobs = -1 }.Validate());
    }
}
