using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Models;

/// <summary>A model ready to run: configuration, weights (memory-mapped), tokenizer and the metadata a server needs.
/// Disposing it unmaps the files; the weights must not be used afterwards.</summary>
public sealed class LoadedModel : IDisposable
{
    private readonly IReadOnlyList<IDisposable> _resources;

    /// <summary>Creates a model that owns <paramref name="resources"/> (file mappings, native buffers).</summary>
    public LoadedModel(
        string source,
        ModelConfig config,
        ModelWeights weights,
        ITokenizer tokenizer,
        IReadOnlyList<IDisposable> resources)
    {
        Source = source;
        Config = config;
        Weights = weights;
        Tokenizer = tokenizer;
        _resources = resources;
    }

    /// <summary>Where the model came from (a path, or a description of a built-in model).</summary>
    public string Source { get; }

    /// <summary>Hyper-parameters.</summary>
    public ModelConfig Config { get; }

    /// <summary>Tensors.</summary>
    public ModelWeights Weights { get; }

    /// <summary>Tokenizer.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>The model's own Jinja chat template, when its files carry one.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Extra ids that end generation besides the tokenizer's EOS (e.g. Llama 3's &lt;|eot_id|&gt;).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var resource in _resources)
        {
            resource.Dispose();
        }
    }
}
