using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Kernels.Sampling;

namespace Serving.Scheduler.Generation;

/// <summary>
/// Generates for one sequence at a time straight on a model runner: the prompt is prefilled in chunks of the
/// runner's token budget, then one token per step. The command line's generate and latency benchmark use it; the
/// server's continuous-batching engine serves many sequences instead.
/// </summary>
public sealed class SingleSequenceGenerator
{
    private readonly LoadedModel _model;
    private readonly IModelRunner _runner;
    private readonly int _maxTokensPerStep;
    private readonly StepInput _step;
    private readonly int[] _blockTable;
    private readonly float[] _logits;
    private readonly HashSet<int> _stopTokens;

    /// <summary>Uses <paramref name="runner"/>'s whole KV pool as one contiguous sequence.</summary>
    public SingleSequenceGenerator(LoadedModel model, IModelRunner runner, int maxTokensPerStep)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(runner);
        _model = model;
        _runner = runner;
        _maxTokensPerStep = maxTokensPerStep;
        var blocks = runner.KvCache.BlockCount;
        _blockTable = new int[blocks];
        for (var i = 0; i < blocks; i++)
        {
            _blockTable[i] = i;
        }

        _step = new StepInput(maxTokensPerStep, 1, blocks, runner.KvCache.BlockSize);
        _logits = new float[model.Config.VocabSize];
        _stopTokens = [.. model.StopTokenIds];
        if (model.Tokenizer.EosId >= 0)
        {
            _stopTokens.Add(model.Tokenizer.EosId);
        }
    }

    /// <summary>Tokens the sequence can hold: the model's context or the KV pool, whichever is smaller.</summary>
    public int ContextLimit => Math.Min(_model.Config.MaxPositions, _runner.KvCache.BlockCount * _runner.KvCache.BlockSize);

    /// <summary>Runs <paramref name="request"/>, calling <paramref name="onToken"/> with each new token as soon as
    /// it is sampled. Stops at a stop token (which is not reported), at MaxTokens, or when the context is full.</summary>
    /// <returns>Why generation ended.</returns>
    public FinishReason Generate(GenerationRequest request, Action<int> onToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(onToken);
        var prompt = request.PromptTokens;
        if (prompt.Count == 0)
        {
            throw new ArgumentException("the prompt needs at least one token", nameof(request));
        }

        if (prompt.Count >= ContextLimit)
        {
            throw new ArgumentException($"the prompt has {prompt.Count} tokens; the context holds {ContextLimit}", nameof(request));
        }

        var sampler = new Sampler(request.Sampling, _model.Config.VocabSize);
        var promptArray = prompt as int[] ?? [.. prompt];
        for (var start = 0; start < promptArray.Length; start += _maxTokensPerStep)
        {
            var count = Math.Min(_maxTokensPerStep, promptArray.Length - start);
            var last = start + count == promptArray.Length;
            _step.Clear();
            _step.AddSequence(promptArray.AsSpan(start, count), start, _blockTable, last ? 1 : 0);
            _runner.Execute(_step, _logits);
        }

        var position = promptArray.Length;
        Span<int> next = stackalloc int[1];
        for (var generated = 0; ; generated++)
        {
            if (generated == request.MaxTokens)
            {
                return FinishReason.Length;
            }

            var token = sampler.Sample(_logits);
            if (!request.IgnoreEos && _stopTokens.Contains(token))
            {
                return FinishReason.Stop;
            }

            onToken(token);
            if (position == ContextLimit)
            {
                return FinishReason.ContextFull;
            }

            next[0] = token;
            _step.Clear();
            _step.AddSequence(next, position, _blockTable, 1);
            _runner.Execute(_step, _logits);
            position++;
        }
    }
}
