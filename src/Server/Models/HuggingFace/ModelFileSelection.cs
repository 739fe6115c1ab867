using System.Text.Json;

namespace Serving.Server.Models.HuggingFace;

/// <summary>Which files of a repository make a loadable model directory: the configs, the tokenizer, and the
/// safetensors weights; never the duplicate <c>.bin</c>, <c>.pt</c>, <c>.onnx</c>, <c>.msgpack</c> or <c>.h5</c> copies,
/// nor anything in a subfolder.</summary>
internal static class ModelFileSelection
{
    /// <summary>The index that lists a sharded checkpoint's files.</summary>
    public const string SafetensorsIndex = "model.safetensors.index.json";

    private static readonly HashSet<string> SideFiles = new(StringComparer.Ordinal)
    {
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "tokenizer.model",
        SafetensorsIndex,
    };

    /// <summary>The top-level files of <paramref name="files"/> a model directory needs; throws when the repository
    /// has no <c>config.json</c> or no safetensors weights, pointing at the single-file form for GGUF repositories.</summary>
    public static IReadOnlyList<string> Select(string repoId, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var chosen = files.Where(f => !f.Contains('/', StringComparison.Ordinal) && (SideFiles.Contains(f) || IsSafetensors(f))).Distinct(StringComparer.Ordinal).ToList();
        var hasConfig = chosen.Contains("config.json");
        var hasWeights = chosen.Any(IsSafetensors);
        if (hasConfig && hasWeights)
        {
            return chosen;
        }

        var missing = (hasConfig, hasWeights) switch
        {
            (false, false) => "no config.json and no .safetensors weights",
            (false, true) => "no config.json",
            _ => "no .safetensors weights",
        };
        var gguf = files.FirstOrDefault(f => f.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase));
        var hint = gguf is not null
            ? $"; it holds GGUF files: name one, e.g. hf:{repoId}/{gguf}"
            : "; to fetch a single file name it: hf:owner/repo/path/to/file";
        throw new HuggingFaceHubException($"hf:{repoId} is not a Hugging Face model directory this server can load: it has {missing} at its top level{hint}");
    }

    /// <summary>Narrows <paramref name="selected"/> to the shards a <c>model.safetensors.index.json</c> names, so a
    /// repository that also carries a consolidated copy of the weights is fetched once. Throws when the index names a
    /// shard the repository lacks.</summary>
    public static IReadOnlyList<string> NarrowToIndex(string repoId, IReadOnlyList<string> selected, string indexPath)
    {
        ArgumentNullException.ThrowIfNull(selected);
        HashSet<string> shards;
        try
        {
            using var stream = File.OpenRead(indexPath);
            using var json = JsonDocument.Parse(stream);
            shards = json.RootElement.TryGetProperty("weight_map", out var map) && map.ValueKind == JsonValueKind.Object
                ? map.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => p.Value.GetString()!).ToHashSet(StringComparer.Ordinal)
                : [];
        }
        catch (JsonException e)
        {
            throw new HuggingFaceHubException($"hf:{repoId}: {SafetensorsIndex} is not valid JSON: {e.Message}", e);
        }

        if (shards.Count == 0)
        {
            throw new HuggingFaceHubException($"hf:{repoId}: {SafetensorsIndex} has no weight_map");
        }

        var missing = shards.Where(s => !selected.Contains(s)).ToList();
        if (missing.Count > 0)
        {
            throw new HuggingFaceHubException($"hf:{repoId}: {SafetensorsIndex} names shards the repository does not have at its top level: {string.Join(", ", missing)}");
        }

        return selected.Where(f => !IsSafetensors(f) || shards.Contains(f)).ToList();
    }

    private static bool IsSafetensors(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal);
}
