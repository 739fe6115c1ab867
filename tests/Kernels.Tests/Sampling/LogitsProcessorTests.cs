using Serving.Kernels.Sampling;

namespace Serving.Kernels.Tests.Sampling;

public sealed class LogitsProcessorTests
{
    [Fact]
    public void Logit_bias_is_added()
    {
        var processor = new LogitsProcessor(new SamplingParams { LogitBias = new Dictionary<int, float> { [1] = 5f, [3] = -100f } }, [0]);
        float[] logits = [1f, 2f, 3f, 4f];
        processor.Apply(logits);
        Assert.Equal([1f, 7f, 3f, -96f], logits);
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens()
    {
        var processor = new LogitsProcessor(new SamplingParams { RepetitionPenalty = 2f }, [0, 1]);
        processor.Accept(3);
        processor.Accept(3);
        float[] logits = [4f, -4f, 4f, -1f];
        processor.Apply(logits);
        Assert.Equal([2f, -8f, 4f, -2f], logits);
    }

    [Fact]
    public void Frequency_and_presence_penalties_follow_output_counts()
    {
        var processor = new LogitsProcessor(new SamplingParams { FrequencyPenalty = 0.5f, PresencePenalty = 1f }, [2]);
        processor.Accept(0);
        processor.Accept(0);
        processor.Accept(1);
        float[] logits = [10f, 10f, 10f];
        processor.Apply(logits);
        Assert.Equal([8f, 8.5f, 10f], logits);
    }

    [Fact]
    public void Min_p_keeps_only_tokens_near_the_most_likely()
    {
        var sampler = new Sampler(new SamplingParams { MinP = 0.3f, Seed = 4 }, 3);
        float[] logits = [0f, MathF.Log(0.5f), MathF.Log(0.1f)];
        var seen = new HashSet<int>();
        for (var i = 0; i < 2000; i++)
        {
            seen.Add(sampler.Sample(logits));
        }

        Assert.Equal([0, 1], seen.Order());
    }

    [Theory]
    [InlineData(1.5f, 0f, 0f, 1f)]
    [InlineData(0f, 2.5f, 0f, 1f)]
    [InlineData(0f, 0f, -3f, 1f)]
    [InlineData(0f, 0f, 0f, 0f)]
    public void Out_of_range_values_are_refused(float minP, float presence, float frequency, float repetition) =>
        Assert.Throws<ArgumentException>(() => new SamplingParams { MinP = minP, PresencePenalty = presence, FrequencyPenalty = frequency, RepetitionPenalty = repetition }.Validate());

    [Fact]
    public void Logit_bias_beyond_100_is_refused() =>
        Assert.Throws<ArgumentException>(() => new SamplingParams { LogitBias = new Dictionary<int, float> { [0] = 101f } }.Validate());
}
