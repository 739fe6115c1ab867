using Serving.Kernels.Cpu;
using Serving.Kernels.Cpu.MatMul;
using Serving.Kernels.Models;
using Serving.Kernels.Quantization;

namespace Serving.Kernels.Runner;

/// <summary>
/// Runs Llama-family decoder steps on the CPU: matrix products straight from the stored (possibly quantized) weights
/// with SIMD kernels on all cores, attention over the paged KV cache, logits only for the rows asked for. All scratch
/// memory is allocated here, once; a step allocates nothing.
/// </summary>
public sealed unsafe class CpuModelRunner : IModelRunner
{
    private readonly ModelWeights _weights;
    private readonly CpuRunnerOptions _options;
    private readonly WorkerPool _pool;
    private readonly KvCacheStorage _cache;
    private readonly RotaryEmbedding _rope;
    private readonly LayerKernels[] _layers;
    private readonly IMatMulKernel _output;
    private readonly float[] _outputNorm;
    private readonly MatMulJob _matMul;
    private readonly AttentionJob _attention;
    private readonly QuantizedActivations _quantized;
    private readonly NativeBuffer<float> _x;
    private readonly NativeBuffer<float> _normed;
    private readonly NativeBuffer<float> _q;
    private readonly NativeBuffer<float> _k;
    private readonly NativeBuffer<float> _v;
    private readonly NativeBuffer<float> _attended;
    private readonly NativeBuffer<float> _projected;
    private readonly NativeBuffer<float> _gate;
    private readonly NativeBuffer<float> _up;
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
        _matMul = new MatMulJob(threads);
        _cache = new KvCacheStorage(c.LayerCount, kvCache.BlockCount, kvCache.BlockSize, c.KvDim);
        _rope = new RotaryEmbedding(c);
        _layers = new LayerKernels[c.LayerCount];
        for (var i = 0; i < c.LayerCount; i++)
        {
            _layers[i] = new LayerKernels(_weights.Layers[i]);
        }

        _output = MatMulKernels.For(_weights.Output);
        _outputNorm = TensorReader.ReadAll(_weights.OutputNorm);
        var maxContext = Math.Min(c.MaxPositions, kvCache.BlockCount * kvCache.BlockSize);
        _attention = new AttentionJob(c.HeadCount, c.KvHeadCount, c.HeadDim, maxContext, threads);
        long t = _options.MaxTokensPerStep;
        var widest = Math.Max(Math.Max(c.HiddenSize, c.QDim), c.IntermediateSize);
        _quantized = new QuantizedActivations(_options.MaxTokensPerStep, widest);
        _x = new NativeBuffer<float>(t * c.HiddenSize);
        _normed = new NativeBuffer<float>(t * c.HiddenSize);
        _q = new NativeBuffer<float>(t * c.QDim);
        _k = new NativeBuffer<float>(t * c.KvDim);
        _v = new NativeBuffer<float>(t * c.KvDim);
        _attended = new NativeBuffer<float>(t * c.QDim);
        _projected = new NativeBuffer<float>(t * c.HiddenSize);
        _gate = new NativeBuffer<float>(t * c.IntermediateSize);
        _up = new NativeBuffer<float>(t * c.IntermediateSize);
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

        for (var layer = 0; layer < c.LayerCount; layer++)
        {
            Attention(layer, input);
            FeedForward(layer, tokens);
        }

        fixed (float* output = logits)
        {
            Logits(input, output);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _pool.Dispose();
        _cache.Dispose();
        foreach (var layer in _layers)
        {
            layer.Dispose();
        }

        (_output as IDisposable)?.Dispose();
        _attention.Dispose();
        _quantized.Dispose();
        foreach (var buffer in new[] { _x, _normed, _q, _k, _v, _attended, _projected, _gate, _up, _cos, _sin })
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

    private void Normalize(float* source, float[] weight, float* destination, int tokens)
    {
        var dim = Config.HiddenSize;
        fixed (float* w = weight)
        {
            for (var t = 0; t < tokens; t++)
            {
                VectorOps.RmsNorm(source + ((long)t * dim), w, destination + ((long)t * dim), dim, Config.RmsNormEps);
            }
        }
    }

    private MatMulInput Prepare(float* x, int tokens, int columns, bool quantize)
    {
        if (quantize)
        {
            _quantized.Quantize(x, tokens, columns);
        }

        return new MatMulInput(x, quantize ? _quantized : null, tokens, columns);
    }

    private void Attention(int layer, StepInput input)
    {
        var c = Config;
        var kernels = _layers[layer];
        var tokens = input.TokenCount;
        Normalize(_x.Pointer, kernels.AttentionNorm, _normed.Pointer, tokens);
        _matMul.Set(Prepare(_normed.Pointer, tokens, c.HiddenSize, kernels.QkvQuantized));
        _matMul.Add(kernels.Query, _q.Pointer);
        _matMul.Add(kernels.Key, _k.Pointer);
        _matMul.Add(kernels.Value, _v.Pointer);
        _pool.Run(_matMul);

        var keys = _cache.Keys(layer);
        var values = _cache.Values(layer);
        for (var t = 0; t < tokens; t++)
        {
            var q = _q.Pointer + ((long)t * c.QDim);
            var k = _k.Pointer + ((long)t * c.KvDim);
            var v = _v.Pointer + ((long)t * c.KvDim);
            kernels.AddBiases(q, k, v);
            var cos = _cos.Pointer + (t * _rope.Half);
            var sin = _sin.Pointer + (t * _rope.Half);
            _rope.Apply(q, c.HeadCount, cos, sin);
            _rope.Apply(k, c.KvHeadCount, cos, sin);
            var slot = (long)input.SlotMapping[t] * c.KvDim;
            new ReadOnlySpan<float>(k, c.KvDim).CopyTo(new Span<float>(keys + slot, c.KvDim));
            new ReadOnlySpan<float>(v, c.KvDim).CopyTo(new Span<float>(values + slot, c.KvDim));
        }

        _attention.Set(input, _q.Pointer, _attended.Pointer, keys, values);
        _pool.Run(_attention);

        _matMul.Set(Prepare(_attended.Pointer, tokens, c.QDim, kernels.Output.UsesQuantizedInput));
        _matMul.Add(kernels.Output, _projected.Pointer);
        _pool.Run(_matMul);
        VectorOps.Add(_x.Pointer, _projected.Pointer, tokens * c.HiddenSize);
    }

    private void FeedForward(int layer, int tokens)
    {
        var c = Config;
        var kernels = _layers[layer];
        Normalize(_x.Pointer, kernels.FeedForwardNorm, _normed.Pointer, tokens);
        _matMul.Set(Prepare(_normed.Pointer, tokens, c.HiddenSize, kernels.GateUpQuantized));
        _matMul.Add(kernels.Gate, _gate.Pointer);
        _matMul.Add(kernels.Up, _up.Pointer);
        _pool.Run(_matMul);
        VectorOps.SiluMultiply(_gate.Pointer, _up.Pointer, tokens * c.IntermediateSize);

        _matMul.Set(Prepare(_gate.Pointer, tokens, c.IntermediateSize, kernels.Down.UsesQuantizedInput));
        _matMul.Add(kernels.Down, _projected.Pointer);
        _pool.Run(_matMul);
        VectorOps.Add(_x.Pointer, _projected.Pointer, tokens * c.HiddenSize);
    }

    private void Logits(StepInput input, float* logits)
    {
        var dim = Config.HiddenSize;
        var rows = input.LogitsRowCount;
        if (rows == 0)
        {
            return;
        }

        fixed (float* w = _outputNorm)
        {
            for (var r = 0; r < rows; r++)
            {
                var source = _x.Pointer + ((long)input.LogitsRows[r] * dim);
                VectorOps.RmsNorm(source, w, _normed.Pointer + ((long)r * dim), dim, Config.RmsNormEps);
            }
        }

        _matMul.Set(Prepare(_normed.Pointer, rows, dim, _output.UsesQuantizedInput));
        _matMul.Add(_output, logits);
        _pool.Run(_matMul);
    }
}
