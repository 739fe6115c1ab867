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
    }
}
