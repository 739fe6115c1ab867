using Serving.Kernels.Models;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Formats;

/// <summary>What a model file (GGUF, llama2.c checkpoint) or Hugging Face directory yields: configuration,
/// memory-mapped weights, and whatever tokenizer information it carries. Disposing it unmaps the files; the
/// weights must not be used afterwards.</summary>
public sealed class ModelFile : IDisposable
{
    private readonly IReadOnlyList<IDisposable> _owned;

    internal ModelFile(string source, ModelConfig config, ModelWeights weights, IReadOnlyList<IDisposable> owned)
    {
        Source = source;
        Config = config;
        Weights = weights;
        _owned = owned;
    }

    /// <summary>Path of the file or directory it was read from.</summary>
    public string Source { get; }

    /// <summary>Hyper-parameters.</summary>
    public ModelConfig Config { get; }

    /// <summary>Tensors, checked against <see cref="Config"/>.</summary>
    public ModelWeights Weights { get; }

    /// <summary>The vocabulary, when the format embeds one (GGUF); null otherwise.</summary>
    public VocabularySpec? Vocabulary { get; init; }

    /// <summary>Path of a Hugging Face <c>tokenizer.json</c> next to the weights, when there is one.</summary>
    public string? TokenizerJsonPath { get; init; }

    /// <summary>The model's own Jinja chat template, when its files carry one.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Ids that end generation besides the vocabulary's EOS (e.g. Llama 3's &lt;|eot_id|&gt;).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var resource in _owned)
        {
            resource.Dispose();
        }
    }
}
