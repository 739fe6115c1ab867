using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Engine;

/// <summary>
/// Decides each step's batch under a token budget and a sequence cap. Running requests go first, in service order
/// (arrival, or priority then arrival), so decoding never waits behind a long prompt; waiting requests are then
/// admitted in the same order, a long prompt taking only what is left of the budget (chunked prefill). When the KV
/// pool cannot hold a running request's next tokens, the last running request in service order is preempted: its
/// blocks are freed and it goes back to the queue to be recomputed later (its prompt blocks usually come back from
/// the prefix cache).
/// </summary>
internal sealed class BatchScheduler(EngineConfig config, IKvCacheManager kv)
{
    private readonly List<RequestState> _running = [];
    private readonly LinkedList<RequestState> _waiting = new();
    private readonly List<ScheduledChunk> _chunks = [];

    public int Running => _running.Count;

    public int Waiting => _waiting.Count;

    public long Preemptions { get; private set; }

    public void Add(RequestState request)
    {
        if (config.Policy == SchedulingPolicy.FirstComeFirstServed)
        {
            _waiting.AddLast(request);
            return;
        }

        Enqueue(request);
    }

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
            var count = Math.Min(request.Tokens.Count - request.Computed, budget);
            if (!request.CanEmit || count == 0)
            {
                continue;
            }

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
            AddRunning(request);
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
        if (config.Policy == SchedulingPolicy.FirstComeFirstServed)
        {
            _waiting.AddFirst(request);
        }
        else
        {
            Enqueue(request);
        }

        Preemptions++;
    }

    /// <summary>Whether <paramref name="a"/> is served before <paramref name="b"/> under the priority policy.</summary>
    private static bool Before(RequestState a, RequestState b) =>
        a.Request.Priority != b.Request.Priority ? a.Request.Priority < b.Request.Priority : a.Id < b.Id;

    private void Enqueue(RequestState request)
    {
        var node = _waiting.First;
        while (node is not null && Before(node.Value, request))
        {
            node = node.Next;
        }

        if (node is null)
        {
            _waiting.AddLast(request);
        }
        else
        {
            _waiting.AddBefore(node, request);
        }
    }

    /// <summary>Keeps the running list in service order, so its last entry is the one to preempt.</summary>
    private void AddRunning(RequestState request)
    {
        var at = _running.Count;
        if (config.Policy == SchedulingPolicy.Priority)
        {
            while (at > 0 && Before(request, _running[at - 1]))
            {
                at--;
            }
        }

        _running.Insert(at, request);
    }
}
