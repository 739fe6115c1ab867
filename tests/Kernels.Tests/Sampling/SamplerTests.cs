using CsCheck;
using Serving.Kernels.Sampling;

namespace Serving.Kernels.Tests.Sampling;

public sealed class SamplerTests
{
    [Fact]
    public void Greedy_takes_the_first_maximum()
    {
        var sampler = new Sampler(SamplingParams.Greedy, 5);
        Assert.Equal(1, sampler.Sample([0f, 3f, 1f, 3f, -2f]));
    }

    [Fact]
    public void Same_seed_gives_same_tokens()
    {
        var logits = Enumerable.Range(0, 50).Select(i => MathF.Sin(i)).ToArray();
        var p = new SamplingParams { Temperature = 1.3f, Seed = 1234 };
        var a = new Sampler(p, 50);
        var b = new Sampler(p, 50);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(a.Sample(logits), b.Sample(logits));
        }
    }

    [Fact]
    public void Top_k_and_top_p_only_return_allowed_tokens() =>
        Gen.Int[0, 1000].Select(Gen.Float[-5f, 5f].Array[2, 40]).Sample((seed, logits) =>
        {
            var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
            var topK = new Sampler(new SamplingParams { TopK = 3, Seed = (ulong)seed }, logits.Length);
            var allowed = order.Take(3).ToHashSet();
            var topP = new Sampler(new SamplingParams { TopP = 1e-6f, Seed = (ulong)seed }, logits.Length);
            for (var i = 0; i < 20; i++)
            {
                Assert.Contains(topK.Sample(logits), allowed);
                Assert.Equal(order[0], topP.Sample(logits));
            }
        });

    [Fact]
    public void Frequencies_follow_the_softmax()
    {
        float[] logits = [0f, MathF.Log(3f)];
        var sampler = new Sampler(new SamplingParams { Seed = 9 }, 2);
        var ones = Enumerable.Range(0, 20000).Count(_ => sampler.Sample(logits) == 1);
        Assert.InRange(ones / 20000.0, 0.73, 0.77);
    }

    [Theory]
    [InlineData(-0.5f, 1f)]
    [InlineData(float.NaN, 1f)]
    [InlineData(1f, 0f)]
    [InlineData(1f, 1.5f)]
    public void Invalid_parameters_are_refused(float temperature, float topP) =>
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingParams { Temperature = temperature, TopP = topP }, 4));
}
