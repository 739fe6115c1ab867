using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Engine;

/// <summary>
/// Decides each step's batch under a token budget and a sequence cap. Running requests go first, oldest first, so
/// decoding never waits behind a long prompt; waiting requests are then admitted first-come first-served, a long
/// prompt taking only what is left of the budget (chunked prefill). When the KV pool cannot hold a running
/// request's next tokens, the newest running request is preempted: its blocks are freed and it goes back to the
/// front of the queue to be recomputed later (its prompt blocks usually come back from the prefix cache).
/// </summary>
internal sealed class BatchScheduler(EngineConfig config, IKvCacheManager kv)
{
    private readonly List<RequestState> _running = [];
    private readonly LinkedList<RequestState> _waiting = new();
    private readonly List<ScheduledChunk> _chunks = [];

    public int Running => _running.Count;

    public int Waiting => _waiting.Count;

    public long Preemptions { get; private set; }

    public void Add(RequestState request) => _waiting.AddLast(request);

    /// <summary>Removes a request wherever it is and frees its blocks.</summary>
    public bool Remove(RequestState request)
    {
        kv.Free(request.Id);
        return _running.Remove(request) || _waiting.Remove(request);
    }

    public IReadOnlyList<ScheduledChunk> Schedule()
    {
        _chunks.Clear();
        var budget = config.MaxBatchedTokens;
        var preempted = false;
        for (var i = 0; i < _running.Count && budget > 0; i++)
        {
            var request = _running[i];
            if (!request.CanEmit)
            {
                continue;
            }

            var count = Math.Min(request.Tokens.Count - request.Computed, budget);
            while (!kv.AppendSlots(request.Id, Known(request, request.Computed, count)).Fits)
            {
                var victim = _running[^1];
                Preempt(victim);
                preempted = true;
                if (victim == request)
                {
                    break;
                }
            }

            if (request.Status == RequestStatus.Running)
            {
                _chunks.Add(new ScheduledChunk(request, request.Computed, count));
                budget -= count;
            }
        }

        // No admissions in a step that had to preempt: memory is the constraint, and a new request would only be
        // preempted in turn.
        while (!preempted && budget > 0 && _waiting.First is { } node && _running.Count < config.MaxSequences)
        {
            var request = node.Value;
            var all = Known(request, 0, request.Tokens.Count);
            var prefix = kv.FindCachedPrefix(all);
            var end = Math.Min(request.Tokens.Count, prefix.TokenCount + budget);
            var allocation = kv.Allocate(request.Id, all[..end], prefix);
            if (!allocation.Fits)
            {
                break;
            }

            _waiting.RemoveFirst();
            request.Status = RequestStatus.Running;
            request.Computed = allocation.ReusedTokens;
            _running.Add(request);
            _chunks.Add(new ScheduledChunk(request, allocation.ReusedTokens, end - allocation.ReusedTokens));
            budget -= end - allocation.ReusedTokens;
        }

        return _chunks;
    }

    /// <summary>A finished request leaves the running set and gives its blocks back.</summary>
    public void Finish(RequestState request)
    {
        kv.Free(request.Id);
        _running.Remove(request);
    }

    private static ReadOnlySpan<int> Known(RequestState request, int start, int count) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(request.Tokens).Slice(start, count);

    private void Preempt(RequestState request)
    {
        kv.Free(request.Id);
        _running.Remove(request);
        _chunks.RemoveAll(c => c.Request == request);
        request.Status = RequestStatus.Waiting;
        request.Computed = 0;
        _waiting.AddFirst(request);
        Preemptions++;
    }
}
