namespace Serving.Kernels.Sampling;

/// <summary>How the next token is drawn from the logits.</summary>
public sealed record SamplingParams
{
    /// <summary>Softmax temperature; 0 means greedy (argmax).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens; 0 or less keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Seed of the per-request random stream; null draws one.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Drop tokens whose probability is below this fraction of the most likely token's; 0 keeps all.</summary>
    public float MinP { get; init; }

    /// <summary>Subtracted once from the logit of every token already generated (OpenAI presence_penalty).</summary>
    public float PresencePenalty { get; init; }

    /// <summary>Subtracted from a token's logit once per time it was generated (OpenAI frequency_penalty).</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Divides positive and multiplies negative logits of tokens seen in the prompt or output (1: off), as
    /// Hugging Face and vLLM define repetition_penalty.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>When set, every generated token reports its log-probability and this many most likely alternatives
    /// (0–20, OpenAI top_logprobs); see <see cref="TokenLogprobs"/> for which distribution.</summary>
    public int? Logprobs { get; init; }

    /// <summary>Added to the logits of the given token ids (OpenAI logit_bias).</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>Greedy decoding.</summary>
    public static SamplingParams Greedy { get; } = new() { Temperature = 0f };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first out-of-range field.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature))
        {
            throw new ArgumentException($"temperature must be a finite number >= 0, got {Temperature}");
        }

        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentException($"top_p must be in (0, 1], got {TopP}");
        }

        if (!(MinP >= 0f && MinP <= 1f))
        {
            throw new ArgumentException($"min_p must be in [0, 1], got {MinP}");
        }

        if (!(PresencePenalty >= -2f && PresencePenalty <= 2f))
        {
            throw new ArgumentException($"presence_penalty must be in [-2, 2], got {PresencePenalty}");
        }

        if (!(FrequencyPenalty >= -2f && FrequencyPenalty <= 2f))
        {
            throw new ArgumentException($"frequency_penalty must be in [-2, 2], got {FrequencyPenalty}");
        }

        if (!(RepetitionPenalty > 0f) || float.IsInfinity(RepetitionPenalty))
        {
            throw new ArgumentException($"repetition_penalty must be a finite number > 0, got {RepetitionPenalty}");
        }

        if (Logprobs is < 0 or > 20)
        {
            throw new ArgumentException($"top_logprobs must be in [0, 20], got {Logprobs}");
        }

        foreach (var (_, bias) in LogitBias ?? new Dictionary<int, float>())
        {
            if (!(bias >= -100f && bias <= 100f))
            {
                throw new ArgumentException($"logit_bias values must be in [-100, 100], got {bias}");
            }
        }
    }
}
