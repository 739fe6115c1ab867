using System.Text.Json;

namespace Serving.Kernels.Formats.SafeTensors;

/// <summary>Reads the small JSON files beside a Hugging Face checkpoint that affect serving: extra stop ids from
/// <c>generation_config.json</c> and the chat template from <c>tokenizer_config.json</c>.</summary>
internal static class HfSideFiles
{
    /// <summary><c>eos_token_id</c> of <c>generation_config.json</c> (an int or a list of ints), or none.</summary>
    public static IReadOnlyList<int> StopTokenIds(string directory)
    {
        using var json = TryParse(Path.Combine(directory, "generation_config.json"));
        if (json is null || !json.RootElement.TryGetProperty("eos_token_id", out var eos))
        {
            return [];
        }

        return eos.ValueKind switch
        {
            JsonValueKind.Number => [eos.GetInt32()],
            JsonValueKind.Array => eos.EnumerateArray().Select(e => e.GetInt32()).Distinct().ToArray(),
            _ => [],
        };
    }

    /// <summary><c>chat_template</c> of <c>tokenizer_config.json</c>: a string, or from a list of {name, template}
    /// the one named "default".</summary>
    public static string? ChatTemplate(string directory)
    {
        using var json = TryParse(Path.Combine(directory, "tokenizer_config.json"));
        if (json is null || !json.RootElement.TryGetProperty("chat_template", out var template))
        {
            return null;
        }

        return template.ValueKind switch
        {
            JsonValueKind.String => template.GetString(),
            JsonValueKind.Array => template.EnumerateArray()
                .Where(t => t.TryGetProperty("name", out var n) && n.GetString() == "default")
                .Select(t => t.GetProperty("template").GetString())
                .FirstOrDefault(),
            _ => null,
        };
    }

    /// <summary>Parses a JSON file, or returns null when it does not exist.</summary>
    public static JsonDocument? TryParse(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{Path.GetFileName(path)}: not valid JSON: {e.Message}", e);
        }
    }
}
