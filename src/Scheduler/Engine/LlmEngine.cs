using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Kernels.Sampling;
using Serving.Scheduler.Generation;
using Serving.Scheduler.KvCache;

namespace Serving.Scheduler.Engine;

/// <summary>
/// The continuous-batching engine: requests come in from any thread; each <see cref="Step"/> schedules a batch
/// (decode first, then prefill chunks, under a token budget), runs it on the model runner over the paged KV cache,
/// samples every request that reached its last known token, and streams the tokens to each request's bounded
/// channel. One thread steps the engine (<see cref="RunAsync"/>, or a test calling <see cref="Step"/>).
/// </summary>
public sealed class LlmEngine : IDisposable
{
    private readonly LoadedModel _model;
    private readonly IModelRunner _runner;
    private readonly EngineConfig _config;
    private readonly IKvCacheManager _kv;
    private readonly BatchScheduler _scheduler;
    private readonly ConcurrentQueue<RequestState> _submitted = new();
    private readonly ConcurrentQueue<long> _aborted = new();
    private volatile bool _abortAll;
    private readonly Dictionary<long, RequestState> _live = [];
    private readonly HashSet<int> _stopTokens;
    private readonly StepInput _step;
    private readonly float[] _logits;
    private readonly int[] _rows;
    private readonly Dictionary<long, int> _lastStep = [];
    private readonly SemaphoreSlim _work = new(0);
    private readonly int _contextLimit;
    private static readonly TimeSpan PausedPoll = TimeSpan.FromMilliseconds(2);

    private readonly TimeProvider _time;
    private readonly EngineMetrics? _metrics;
    private long _nextId;

    /// <summary>An engine over <paramref name="runner"/>, whose KV pool it manages. Instruments are created on
    /// <paramref name="meterFactory"/> when given; <paramref name="timeProvider"/> times steps and queues.</summary>
    public LlmEngine(LoadedModel model, IModelRunner runner, EngineConfig config, IMeterFactory? meterFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(config);
        _model = model;
        _runner = runner;
        _config = config;
        _kv = IKvCacheManager.Create(runner.KvCache, config.EnablePrefixCaching);
        _scheduler = new BatchScheduler(config, _kv);
        _stopTokens = [.. model.StopTokenIds];
        if (model.Tokenizer.EosId >= 0)
        {
            _stopTokens.Add(model.Tokenizer.EosId);
        }

        _contextLimit = Math.Min(model.Config.MaxPositions, _kv.MaxTokensPerRequest);
        if (config.MaxModelLength > 0)
        {
            _contextLimit = Math.Min(_contextLimit, config.MaxModelLength);
        }

        _time = timeProvider ?? TimeProvider.System;
        _metrics = meterFactory is null ? null : new EngineMetrics(meterFactory, this);
        _step = new StepInput(config.MaxBatchedTokens, config.MaxSequences, runner.KvCache.BlockCount, runner.KvCache.BlockSize);
        _logits = new float[config.MaxSequences * model.Config.VocabSize];
        _rows = new int[config.MaxSequences];
    }

    /// <summary>Most tokens (prompt + output) one request may hold: the model's context, capped by
    /// <see cref="EngineConfig.MaxModelLength"/> and by the KV pool.</summary>
    public int ContextLimit => _contextLimit;

    /// <summary>Requests being stepped.</summary>
    public int Running => _scheduler.Running;

    /// <summary>Requests waiting for admission (new or preempted).</summary>
    public int Waiting => _scheduler.Waiting;

    /// <summary>KV blocks held by requests.</summary>
    public int UsedBlocks => _kv.UsedBlocks;

    /// <summary>KV blocks in the pool.</summary>
    public int TotalBlocks => _kv.TotalBlocks;

    /// <summary>Prompt tokens looked up in the prefix cache so far.</summary>
    public long PrefixCacheQueryTokens => _kv.PrefixCacheQueryTokens;

    /// <summary>Requests preempted so far.</summary>
    public long Preemptions => _scheduler.Preemptions;

    /// <summary>Prompt tokens found in the prefix cache so far.</summary>
    public long PrefixCacheHitTokens => _kv.PrefixCacheHitTokens;

    /// <summary>Tokens each scheduled request computed in the last step, by request id.</summary>
    public IReadOnlyDictionary<long, int> LastStep => _lastStep;

    /// <summary>Queues a request. Thread-safe. A request that can never fit (prompt + max tokens beyond the model's
    /// context or the whole KV pool) is refused here rather than left waiting.</summary>
    public RequestHandle Submit(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Sampling.Validate();
        if (request.PromptTokens.Count == 0)
        {
            throw new ArgumentException("the prompt needs at least one token", nameof(request));
        }

        if (request.MaxTokens < 1)
        {
            throw new ArgumentException($"max tokens must be at least 1, got {request.MaxTokens}", nameof(request));
        }

        if (request.PromptTokens.Count + request.MaxTokens > _contextLimit)
        {
            throw new ArgumentException(
                $"{request.PromptTokens.Count} prompt tokens + {request.MaxTokens} max tokens exceed the {_contextLimit} tokens a request can hold (model context {_model.Config.MaxPositions}, KV pool {_kv.MaxTokensPerRequest})",
                nameof(request));
        }

        foreach (var stop in request.StopStrings)
        {
            if (string.IsNullOrEmpty(stop))
            {
                throw new ArgumentException("stop strings must not be empty", nameof(request));
            }
        }

        if (request.MinTokens < 0 || request.MinTokens > request.MaxTokens)
        {
            throw new ArgumentException($"min tokens must be in [0, max tokens = {request.MaxTokens}], got {request.MinTokens}", nameof(request));
        }

        foreach (var (token, _) in request.Sampling.LogitBias ?? new Dictionary<int, float>())
        {
            if ((uint)token >= (uint)_model.Config.VocabSize)
            {
                throw new ArgumentException($"logit_bias names token id {token}, outside the vocabulary of {_model.Config.VocabSize}", nameof(request));
            }
        }

        foreach (var token in request.PromptTokens)
        {
            if ((uint)token >= (uint)_model.Config.VocabSize)
            {
                throw new ArgumentException($"token id {token} is outside the vocabulary of {_model.Config.VocabSize}", nameof(request));
            }
        }

        var state = new RequestState(Interlocked.Increment(ref _nextId), request, _model.Tokenizer, _model.Config.VocabSize, _config.OutputCapacity)
        {
            SubmittedAt = _time.GetTimestamp(),
        };
        _submitted.Enqueue(state);
        _work.Release();
        return new RequestHandle(state.Id, state.Output.Reader, state.Completion.Task, state.Scheduled.Task);
    }

    /// <summary>
    /// Queues <paramref name="n"/> parallel samples of one request (OpenAI's <c>n</c>), as vLLM v1 does: independent
    /// requests whose full prompt blocks the prefix cache shares. Sample i draws from seed + i when the request has a
    /// seed, so each sample is reproducible on its own.
    /// </summary>
    public IReadOnlyList<RequestHandle> SubmitSamples(GenerationRequest request, int n)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var handles = new RequestHandle[n];
        for (var i = 0; i < n; i++)
        {
            var sampling = request.Sampling.Seed is { } seed ? request.Sampling with { Seed = seed + (ulong)i } : request.Sampling;
            handles[i] = Submit(request with { Sampling = sampling });
        }

        return handles;
    }

    /// <summary>Aborts a request from any thread; its blocks are freed at the start of the next step.</summary>
    public void Abort(long requestId)
    {
        _aborted.Enqueue(requestId);
        _work.Release();
    }

    /// <summary>Aborts every request submitted so far, from any thread (at the end of a drain); their blocks are
    /// freed at the start of the next step.</summary>
    public void AbortAll()
    {
        _abortAll = true;
        _work.Release();
    }

    /// <summary>Ends every request with <see cref="FinishReason.Abort"/> after the engine loop has died (a runner
    /// failure), so no reader waits forever. Call it only once no thread steps the engine any more.</summary>
    public void FailAll()
    {
        while (_submitted.TryDequeue(out var pending))
        {
            _live[pending.Id] = pending;
        }

        foreach (var request in _live.Values)
        {
            End(request, FinishReason.Abort);
        }

        _live.Clear();
    }

    /// <summary>Runs one engine step. Returns false when there was nothing to do.</summary>
    public bool Step()
    {
        Intake();
        var started = _time.GetTimestamp();
        var preemptionsBefore = _scheduler.Preemptions;
        var chunks = _scheduler.Schedule();
        _lastStep.Clear();
        if (chunks.Count == 0)
        {
            return false;
        }

        _step.Clear();
        var rows = _rows;
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            var tokens = CollectionsMarshal.AsSpan(chunk.Request.Tokens).Slice(chunk.Start, chunk.Count);
            rows[i] = _step.AddSequence(tokens, chunk.Start, _kv.BlockTable(chunk.Request.Id), chunk.SamplesNext ? 1 : 0);
            _lastStep[chunk.Request.Id] = chunk.Count;
        }

        _runner.Execute(_step, _logits);
        var vocab = _model.Config.VocabSize;
        var generated = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            var request = chunk.Request;
            if (request.FirstScheduledAt == 0)
            {
                request.FirstScheduledAt = started;
                request.Scheduled.TrySetResult();
                _metrics?.Admitted(_time.GetElapsedTime(request.SubmittedAt, started).TotalSeconds);
            }

            request.Computed += chunk.Count;
            if (chunk.SamplesNext)
            {
                var row = _logits.AsSpan(rows[i] * vocab, vocab);
                var token = Sample(request, row);
                var logprobs = request.Request.Sampling.Logprobs is { } top ? TokenLogprobs.Compute(row, token, top) : null;
                generated += Accept(request, token, logprobs) ? 1 : 0;
                if (request.LastTokenAt != 0)
                {
                    _metrics?.InterToken(_time.GetElapsedTime(request.LastTokenAt, started).TotalSeconds);
                }

                request.LastTokenAt = started;
            }
        }

        _metrics?.Step(_step.TokenCount, chunks.Count, _time.GetElapsedTime(started).TotalSeconds, _scheduler.Preemptions - preemptionsBefore, generated);
        return true;
    }

    /// <summary>Steps until <paramref name="cancellationToken"/> fires, sleeping while there is no work. When every
    /// running request is paused on a full output channel it polls (a reader draining its channel does not signal the
    /// engine).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!Step())
            {
                var wait = Running > 0 ? PausedPoll : Timeout.InfiniteTimeSpan;
                await _work.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _work.Dispose();

    private void Intake()
    {
        if (_abortAll)
        {
            _abortAll = false;
            while (_submitted.TryDequeue(out var pending))
            {
                _live[pending.Id] = pending;
                _scheduler.Add(pending);
            }

            foreach (var id in _live.Keys.ToList())
            {
                _aborted.Enqueue(id);
            }
        }

        while (_aborted.TryDequeue(out var id))
        {
            if (_live.Remove(id, out var request))
            {
                _scheduler.Remove(request);
                End(request, FinishReason.Abort);
            }
        }

        while (_submitted.TryDequeue(out var request))
        {
            _live[request.Id] = request;
            _scheduler.Add(request);
        }
    }

    private int Sample(RequestState request, Span<float> logits)
    {
        request.Processor.Apply(logits);
        if (request.Generated < request.Request.MinTokens)
        {
            foreach (var stop in _stopTokens)
            {
                if ((uint)stop < (uint)logits.Length)
                {
                    logits[stop] = float.NegativeInfinity;
                }
            }
        }

        // The row is left as processed (bias, penalties, min_tokens mask): logprobs are reported from it.
        return request.Sampler.Sample(logits);
    }

    /// <summary>Takes a sampled token; returns whether it became output (a stop token does not).</summary>
    private bool Accept(RequestState request, int token, TokenLogprobs? logprobs)
    {
        if (!request.Request.IgnoreEos && _stopTokens.Contains(token))
        {
            Finish(request, FinishReason.Stop);
            return false;
        }

        request.Tokens.Add(token);
        request.Processor.Accept(token);
        var (release, stopped) = request.Stops.Add(request.Detokenizer.Add(token));
        request.Output.Writer.TryWrite(new GeneratedPiece(token, release, logprobs));
        if (stopped)
        {
            Finish(request, FinishReason.Stop, flush: false);
        }
        else if (request.Generated >= request.Request.MaxTokens)
        {
            Finish(request, FinishReason.Length);
        }
        else if (request.Tokens.Count >= _contextLimit)
        {
            Finish(request, FinishReason.ContextFull);
        }

        return true;
    }

    private void Finish(RequestState request, FinishReason reason, bool flush = true)
    {
        if (flush)
        {
            // Text held back (an incomplete character, a possible stop string) belongs to the output after all.
            var (release, stopped) = request.Stops.Add(request.Detokenizer.Flush());
            var text = stopped ? release : release + request.Stops.Flush();
            if (text.Length > 0)
            {
                request.Output.Writer.TryWrite(new GeneratedPiece(-1, text));
            }
        }

        _metrics?.Finished(request.PromptLength);
        _scheduler.Finish(request);
        _live.Remove(request.Id);
        End(request, reason);
    }

    private static void End(RequestState request, FinishReason reason)
    {
        request.Output.Writer.TryComplete();
        request.Completion.TrySetResult(reason);
    }
}
