using Serving.Kernels.Cpu;
using Serving.Kernels.Models;
using Serving.Kernels.Onnx;
using Serving.Kernels.Quantization;

namespace Serving.Kernels.Runner;

/// <summary>
/// Runs Llama-family decoder steps on the CPU: the dense segments (norms, projections, feed-forward, head) on our SIMD
/// kernels or on ONNX Runtime (<see cref="CpuRunnerOptions.Backend"/>), RoPE and attention over the paged KV cache in
/// one place here, logits only for the rows asked for. All scratch memory is allocated once.
/// </summary>
public sealed unsafe class CpuModelRunner : IModelRunner
{
    private readonly ModelWeights _weights;
    private readonly CpuRunnerOptions _options;
    private readonly WorkerPool _pool;
    private readonly KvCacheStorage _cache;
    private readonly RotaryEmbedding _rope;
    private readonly NativeDenseSegments? _native;
    private readonly OnnxDenseSegments? _onnx;
    private readonly AttentionJob _attention;
    private readonly RotaryWriteJob _rotaryWrite;
    private readonly NativeBuffer<float> _x;
    private readonly NativeBuffer<float> _q;
    private readonly NativeBuffer<float> _k;
    private readonly NativeBuffer<float> _v;
    private readonly NativeBuffer<float> _attended;
    private readonly NativeBuffer<float> _cos;
    private readonly NativeBuffer<float> _sin;

    /// <summary>Prepares kernels and allocates the KV pool and scratch buffers for <paramref name="model"/>.</summary>
    public CpuModelRunner(LoadedModel model, KvCacheConfig kvCache, CpuRunnerOptions? options = null)
        : this((model ?? throw new ArgumentNullException(nameof(model))).Config, model.Weights, kvCache, options)
    {
    }

    /// <summary>Prepares kernels and allocates the KV pool and scratch buffers for a model given by its parts. The
    /// weights must outlive the runner.</summary>
    public CpuModelRunner(ModelConfig config, ModelWeights weights, KvCacheConfig kvCache, CpuRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(kvCache);
        Config = config;
        KvCache = kvCache;
        _weights = weights;
        _options = options ?? new CpuRunnerOptions();
        var c = Config;
        var threads = _options.Threads > 0 ? _options.Threads : Environment.ProcessorCount;
        _pool = new WorkerPool(threads);
        _cache = new KvCacheStorage(c.LayerCount, kvCache.BlockCount, kvCache.BlockSize, c.KvHeadCount, c.HeadDim, kvCache.DataType);
        _rope = new RotaryEmbedding(c);
        var maxTokens = _options.MaxTokensPerStep;
        var backend = _options.Backend;
        if (backend != DenseBackend.Onnx)
        {
            _native = new NativeDenseSegments(c, _weights, _pool, maxTokens);
        }

        // Auto builds ONNX Runtime sessions only when some step size would use them.
        if (backend == DenseBackend.Onnx || (backend == DenseBackend.Auto && _options.OnnxMinTokens <= maxTokens))
        {
            _onnx = new OnnxDenseSegments(c, _weights, threads, maxTokens);
        }

        var maxContext = Math.Min(c.MaxPositions, kvCache.BlockCount * kvCache.BlockSize);
        _attention = new AttentionJob(c.HeadCount, c.KvHeadCount, c.HeadDim, maxContext, kvCache.BlockSize, threads);
        _rotaryWrite = new RotaryWriteJob(_rope, _cache, threads);
        long t = maxTokens;
        _x = new NativeBuffer<float>(t * c.HiddenSize);
        _q = new NativeBuffer<float>(t * c.QDim);
        _k = new NativeBuffer<float>(t * c.KvDim);
        _v = new NativeBuffer<float>(t * c.KvDim);
        _attended = new NativeBuffer<float>(t * c.QDim);
        _cos = new NativeBuffer<float>(t * _rope.Half);
        _sin = new NativeBuffer<float>(t * _rope.Half);
    }

    /// <inheritdoc />
    public ModelConfig Config { get; }

    /// <inheritdoc />
    public KvCacheConfig KvCache { get; }

    /// <summary>Bytes of the KV block pool.</summary>
    public long KvCacheBytes => _cache.Bytes;

    /// <summary>Kernel threads in use.</summary>
    public int Threads => _pool.ThreadCount;

    /// <inheritdoc />
    public void Execute(StepInput input, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(input);
        Validate(input, logits.Length);
        var c = Config;
        var tokens = input.TokenCount;
        Embed(input);
        for (var p = 0; p < tokens; p++)
        {
            _rope.Angles(input.Positions[p], _cos.Pointer + (p * _rope.Half), _sin.Pointer + (p * _rope.Half));
        }

        var dense = Dense(tokens);
        for (var layer = 0; layer < c.LayerCount; layer++)
        {
            dense.PreAttention(layer, _x.Pointer, tokens, _q.Pointer, _k.Pointer, _v.Pointer);
            Attention(layer, input);
            dense.PostAttention(layer, _x.Pointer, _attended.Pointer, tokens);
        }

        if (input.LogitsRowCount > 0)
        {
            fixed (float* output = logits)
            {
                dense.Head(_x.Pointer, input.LogitsRows, output);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _native?.Dispose();
        _onnx?.Dispose();
        _pool.Dispose();
        _cache.Dispose();
        _attention.Dispose();
        foreach (var buffer in new[] { _x, _q, _k, _v, _attended, _cos, _sin })
        {
            buffer.Dispose();
        }
    }

    private void Validate(StepInput input, int logitsLength)
    {
        if (input.TokenCount > _options.MaxTokensPerStep)
        {
            throw new ArgumentException($"the step has {input.TokenCount} tokens; this runner takes at most {_options.MaxTokensPerStep}", nameof(input));
        }

        if (input.BlockSize != KvCache.BlockSize)
        {
            throw new ArgumentException($"the step uses blocks of {input.BlockSize} tokens; the KV pool has blocks of {KvCache.BlockSize}", nameof(input));
        }

        var needed = (long)input.LogitsRowCount * Config.VocabSize;
        if (logitsLength < needed)
        {
            throw new ArgumentException($"the logits buffer holds {logitsLength} values; {input.LogitsRowCount} rows need {needed}", nameof(input));
        }

        var slots = KvCache.BlockCount * KvCache.BlockSize;
        for (var t = 0; t < input.TokenCount; t++)
        {
            var id = input.TokenIds[t];
            if ((uint)id >= (uint)Config.VocabSize)
            {
                throw new ArgumentException($"token id {id} is outside the vocabulary of {Config.VocabSize}", nameof(input));
            }

            if ((uint)input.SlotMapping[t] >= (uint)slots)
            {
                throw new ArgumentException($"slot {input.SlotMapping[t]} is outside the KV pool of {slots} slots", nameof(input));
            }

            if (input.Positions[t] >= Config.MaxPositions)
            {
                throw new ArgumentException($"position {input.Positions[t]} is beyond the model's context of {Config.MaxPositions}", nameof(input));
            }
        }
    }

    private void Embed(StepInput input)
    {
        var dim = Config.HiddenSize;
        for (var t = 0; t < input.TokenCount; t++)
        {
            TensorReader.ReadRow(_weights.TokenEmbedding, input.TokenIds[t], new Span<float>(_x.Pointer + ((long)t * dim), dim));
        }
    }

    private IDenseSegments Dense(int tokens) =>
        _onnx is not null && (_native is null || tokens >= _options.OnnxMinTokens) ? _onnx : _native!;

    /// <summary>RoPE on q and k, k and v written to their KV slots, then paged attention into the attended buffer. In
    /// a step with one new token per sequence (every decode step) the attention items rotate and write their own
    /// heads, so that work is spread over the pool instead of running on the calling thread while the others wait
    /// (single-stream decode, in-process A/B: rotation, writes and attention 1.5–1.8 µs less per layer; same bits).</summary>
    private void Attention(int layer, StepInput input)
    {
        var c = Config;
        if (input.TokenCount == input.SequenceCount)
        {
            _attention.Set(input, _q.Pointer, _attended.Pointer, _cache, layer);
            _attention.RotateAndWriteInItems(_rope, _k.Pointer, _v.Pointer, _cos.Pointer, _sin.Pointer);
            _pool.Run(_attention);
            return;
        }

        _rotaryWrite.Set(input, layer, c.HeadCount, c.KvHeadCount, c.HeadDim, _q.Pointer, _k.Pointer, _v.Pointer, _cos.Pointer, _sin.Pointer);
        _rotaryWrite.Run(_pool);
        _attention.Set(input, _q.Pointer, _attended.Pointer, _cache, layer);
        _pool.Run(_attention);
    }
}
