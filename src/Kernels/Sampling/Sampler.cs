namespace Serving.Kernels.Sampling;

/// <summary>
/// Draws tokens from logits with temperature, then top-k, min-p and top-p in that order (sorting the vocabulary only
/// when top-k or top-p needs an order), from a random stream of its own (seeded per request,
/// so a request's output does not depend on what else runs). Buffers are sized to the vocabulary once; sampling a
/// token allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingParams _params;
    private readonly float[] _probabilities;
    private readonly int[] _indices;
    private readonly Comparison<int> _byLogitDescending;
    private ulong _state;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public Sampler(SamplingParams parameters, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        _params = parameters;
        _probabilities = new float[vocabSize];
        _indices = new int[vocabSize];
        _byLogitDescending = Comparison;
        var seed = parameters.Seed ?? (ulong)Random.Shared.NextInt64();
        _state = seed ^ 0x9E3779B97F4A7C15UL;
        if (_state == 0)
        {
            _state = 1;
        }
    }

    /// <summary>Index of the largest logit (the lowest index among equals).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Draws the next token.</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (_params.Temperature == 0f)
        {
            return ArgMax(logits);
        }

        var n = logits.Length;
        var max = logits[ArgMax(logits)];
        var inverseT = 1f / _params.Temperature;
        if ((_params.TopK <= 0 || _params.TopK >= n) && _params.TopP >= 1f)
        {
            return SampleUnordered(logits, max, inverseT);
        }

        for (var i = 0; i < n; i++)
        {
            _indices[i] = i;
            _probabilities[i] = logits[i];
        }

        var count = n;
        if (_params.TopK > 0 && _params.TopK < n)
        {
            count = _params.TopK;
        }

        // Sort candidates by raw logit, descending; ties keep the lower id first so results are reproducible.
        _indices.AsSpan(0, n).Sort(_byLogitDescending);
        var sum = 0.0;
        for (var i = 0; i < count; i++)
        {
            sum += Weight(_indices[i], max, inverseT);
        }

        if (_params.MinP > 0f)
        {
            // Weights are relative to the most likely token (weight 1), so min-p is a plain threshold on them.
            for (var i = 1; i < count; i++)
            {
                if (Weight(_indices[i], max, inverseT) < _params.MinP)
                {
                    count = i;
                    break;
                }
            }

            sum = 0;
            for (var i = 0; i < count; i++)
            {
                sum += Weight(_indices[i], max, inverseT);
            }
        }

        if (_params.TopP < 1f)
        {
            var cumulative = 0.0;
            var cut = count;
            for (var i = 0; i < count; i++)
            {
                cumulative += Weight(_indices[i], max, inverseT) / sum;
                if (cumulative >= _params.TopP)
                {
                    cut = i + 1;
                    break;
                }
            }

            count = cut;
            sum = 0;
            for (var i = 0; i < count; i++)
            {
                sum += Weight(_indices[i], max, inverseT);
            }
        }

        var target = NextDouble() * sum;
        var acc = 0.0;
        for (var i = 0; i < count; i++)
        {
            acc += Weight(_indices[i], max, inverseT);
            if (target < acc)
            {
                return _indices[i];
            }
        }

        return _indices[count - 1];
    }

    /// <summary>Without top-k or top-p no filter needs the tokens in order, so the full-vocabulary sort is skipped:
    /// one pass weighs the tokens (min-p is a threshold on weights relative to the most likely token), one draws in id
    /// order.</summary>
    private int SampleUnordered(ReadOnlySpan<float> logits, float max, float inverseTemperature)
    {
        var total = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            var weight = MathF.Exp((logits[i] - max) * inverseTemperature);
            _probabilities[i] = weight >= _params.MinP ? weight : 0f;
            total += _probabilities[i];
        }

        var target = NextDouble() * total;
        var acc = 0.0;
        var last = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            if (_probabilities[i] == 0f)
            {
                continue;
            }

            acc += _probabilities[i];
            last = i;
            if (target < acc)
            {
                return i;
            }
        }

        return last;
    }

    private float Weight(int token, float max, float inverseTemperature) =>
        MathF.Exp((_probabilities[token] - max) * inverseTemperature);

    private int Comparison(int a, int b)
    {
        var byValue = _probabilities[b].CompareTo(_probabilities[a]);
        return byValue != 0 ? byValue : a.CompareTo(b);
    }

    private double NextDouble()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return ((_state * 0x2545F4914F6CDD1DUL) >> 11) * (1.0 / (1UL << 53));
    }
}
