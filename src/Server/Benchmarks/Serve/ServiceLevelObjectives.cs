using System.Globalization;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>Goodput's service level objectives in milliseconds (<c>--goodput ttft:MS tpot:MS e2el:MS</c>); a request
/// is good when it meets every objective given (value ≤ objective), as in vLLM.</summary>
internal sealed record ServiceLevelObjectives(double? TtftMs, double? TpotMs, double? E2elMs)
{
    public static ServiceLevelObjectives None { get; } = new(null, null, null);

    public bool Any => TtftMs is not null || TpotMs is not null || E2elMs is not null;

    public static ServiceLevelObjectives Parse(IEnumerable<string> pairs)
    {
        var result = None;
        foreach (var pair in pairs)
        {
            var parts = pair.Split(':');
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) || ms < 0 || !double.IsFinite(ms))
            {
                throw new ArgumentException($"--goodput takes NAME:MILLISECONDS pairs with a non-negative number, got '{pair}'");
            }

            result = parts[0].ToLowerInvariant() switch
            {
                "ttft" => result with { TtftMs = ms },
                "tpot" => result with { TpotMs = ms },
                "e2el" => result with { E2elMs = ms },
                _ => throw new ArgumentException($"--goodput objective must be ttft, tpot or e2el, got '{parts[0]}'"),
            };
        }

        return result;
    }

    /// <summary>Whether a completed request meets every objective. A single-token output has TPOT 0 here (vLLM's
    /// convention), so only its TTFT and E2E count. Compared in seconds against ms / 1000, as vLLM does, so a value on
    /// the boundary is judged the same way.</summary>
    public bool IsMet(RequestOutcome outcome) =>
        (TtftMs is not { } ttft || outcome.TtftSeconds <= ttft / 1000) &&
        (TpotMs is not { } tpot || (outcome.TpotSeconds ?? 0) <= tpot / 1000) &&
        (E2elMs is not { } e2el || outcome.LatencySeconds <= e2el / 1000);
}
