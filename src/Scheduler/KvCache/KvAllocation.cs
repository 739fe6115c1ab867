namespace Serving.Scheduler.KvCache;

/// <summary>
/// The outcome of reserving KV slots. When the pool cannot supply the blocks, <see cref="Fits"/> is false and
/// nothing changed, so the scheduler can preempt another request and try again; this is an expected event under
/// load, hence a result rather than an exception.
/// </summary>
/// <param name="Fits">Whether the slots were reserved.</param>
/// <param name="ReusedTokens">Leading tokens whose K/V came from the prefix cache (need no compute).</param>
/// <param name="CopyOnWrite">A block copy the runner must do before this step, if the write hit a shared block.</param>
public readonly record struct KvAllocation(bool Fits, int ReusedTokens, BlockCopy? CopyOnWrite)
{
    /// <summary>The pool has too few free blocks right now.</summary>
    public static KvAllocation DoesNotFit => new(false, 0, null);
}
