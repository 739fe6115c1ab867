namespace Serving.Scheduler.Engine;

/// <summary>Limits of the continuous-batching engine (vLLM's names in brackets).</summary>
public sealed record EngineConfig
{
    /// <summary>Most requests in one step (max_num_seqs).</summary>
    public int MaxSequences { get; init; } = 64;

    /// <summary>Token budget of one step, decode tokens and prefill chunks together (max_num_batched_tokens).</summary>
    public int MaxBatchedTokens { get; init; } = 512;

    /// <summary>Order in which requests are admitted, given the budget, and preempted.</summary>
    public SchedulingPolicy Policy { get; init; } = SchedulingPolicy.FirstComeFirstServed;

    /// <summary>Whether full prompt blocks are shared between requests through the prefix cache.</summary>
    public bool EnablePrefixCaching { get; init; } = true;

    /// <summary>Tokens a request's output channel holds before the request is paused until its reader catches up,
    /// so a slow client cannot grow memory without bound.</summary>
    public int OutputCapacity { get; init; } = 64;

    /// <summary>Most tokens (prompt + output) one request may hold; 0 means the model's context length. The KV pool
    /// can lower it further.</summary>
    public int MaxModelLength { get; init; }
}
