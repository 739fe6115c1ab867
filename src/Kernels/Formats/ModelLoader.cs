using Serving.Kernels.Formats.Gguf;
using Serving.Kernels.Formats.Llama2c;
using Serving.Kernels.Formats.SafeTensors;
using Serving.Kernels.Models;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Formats;

/// <summary>Opens a model from a path, whatever its format: a Hugging Face directory, a GGUF file (recognised by its
/// magic, not its name), or a llama2.c checkpoint with its <c>tok*.bin</c> tokenizer.</summary>
public static class ModelLoader
{
    /// <summary>Loads <paramref name="path"/>. <paramref name="tokenizerPath"/> names a llama2.c tokenizer; when it is
    /// null and a single <c>tok*.bin</c> sits beside a checkpoint, that one is used.</summary>
    public static LoadedModel Load(string path, string? tokenizerPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Open(path);
        try
        {
            var tokenizer = TokenizerFactory.Create(Vocabulary(file, path, tokenizerPath));
            if (tokenizer.VocabSize > file.Config.VocabSize)
            {
                throw new ModelFormatException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but the model's embedding has only {file.Config.VocabSize} rows");
            }

            return new LoadedModel(file.Source, file.Config, file.Weights, tokenizer, [file])
            {
                ChatTemplate = file.ChatTemplate,
                StopTokenIds = file.StopTokenIds,
            };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static ModelFile Open(string path)
    {
        if (Directory.Exists(path))
        {
            return HuggingFaceModelReader.Load(path);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model not found: {path}", path);
        }

        return IsGguf(path) ? GgufModelReader.Load(path) : Llama2cCheckpointReader.Load(path);
    }

    private static bool IsGguf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
    }

    private static VocabularySpec Vocabulary(ModelFile file, string path, string? tokenizerPath)
    {
        if (tokenizerPath is not null)
        {
            return Path.GetFileName(tokenizerPath) == "tokenizer.json"
                ? HuggingFaceTokenizerReader.Read(tokenizerPath, SiblingOrNull(tokenizerPath, "tokenizer_config.json"))
                : Llama2cTokenizerReader.Read(tokenizerPath, file.Config.VocabSize);
        }

        if (file.Vocabulary is not null)
        {
            return file.Vocabulary;
        }

        if (file.TokenizerJsonPath is not null)
        {
            return HuggingFaceTokenizerReader.Read(file.TokenizerJsonPath, SiblingOrNull(file.TokenizerJsonPath, "tokenizer_config.json"));
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var candidates = Directory.GetFiles(directory, "tok*.bin");
        return candidates.Length switch
        {
            1 => Llama2cTokenizerReader.Read(candidates[0], file.Config.VocabSize),
            0 => throw new ModelFormatException($"{path}: a llama2.c checkpoint carries no vocabulary and no tok*.bin sits beside it; pass --tokenizer PATH"),
            _ => throw new ModelFormatException($"{path}: several tokenizers sit beside the checkpoint ({string.Join(", ", candidates.Select(Path.GetFileName))}); choose one with --tokenizer PATH"),
        };
    }

    private static string? SiblingOrNull(string path, string name)
    {
        var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", name);
        return File.Exists(sibling) ? sibling : null;
    }
}
