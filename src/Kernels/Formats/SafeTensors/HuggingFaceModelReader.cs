using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.SafeTensors;

/// <summary>Reads a Hugging Face model directory: <c>config.json</c>, weights in <c>model.safetensors</c> or shards
/// listed by <c>model.safetensors.index.json</c>, the chat template and extra stop ids. The tokenizer is left to
/// whoever parses <see cref="ModelFile.TokenizerJsonPath"/>.</summary>
public static class HuggingFaceModelReader
{
    private const string SingleFile = "model.safetensors";
    private const string IndexFile = "model.safetensors.index.json";

    /// <summary>Reads the model in <paramref name="directory"/>. The result owns the mappings.</summary>
    /// <exception cref="ModelFormatException">A file is missing, malformed, or describes an unsupported model.</exception>
    public static ModelFile Load(string directory)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));
        using var configJson = HfSideFiles.TryParse(Path.Combine(directory, "config.json"))
            ?? throw new ModelFormatException($"{name}: config.json is missing; not a Hugging Face model directory");
        var config = ModelConfigValidator.Validate(WithContext(() => HfConfigReader.Read(configJson.RootElement, "config.json")), name);
        var shards = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            var lookup = OpenWeights(directory, shards);
            var weights = new WeightsAssembler(config, TensorNaming.HuggingFace, lookup, name).Build();
            var tokenizerJson = Path.Combine(directory, "tokenizer.json");
            return new ModelFile(directory, config, weights, shards.Values.ToArray())
            {
                ChatTemplate = WithContext(() => HfSideFiles.ChatTemplate(directory)),
                StopTokenIds = WithContext(() => HfSideFiles.StopTokenIds(directory)),
                TokenizerJsonPath = File.Exists(tokenizerJson) ? tokenizerJson : null,
            };
        }
        catch
        {
            foreach (var shard in shards.Values)
            {
                shard.Dispose();
            }

            throw;
        }
    }

    private static Func<string, WeightTensor?> OpenWeights(string directory, Dictionary<string, SafeTensorsFile> shards)
    {
        using var index = HfSideFiles.TryParse(Path.Combine(directory, IndexFile));
        if (index is null)
        {
            if (!File.Exists(Path.Combine(directory, SingleFile)))
            {
                throw new ModelFormatException($"{Path.GetFileName(directory)}: neither {SingleFile} nor {IndexFile} exists");
            }

            var single = SafeTensorsFile.Open(Path.Combine(directory, SingleFile));
            shards.Add(SingleFile, single);
            return single.TryGetTensor;
        }

        var map = WithContext(() => index.RootElement.GetProperty("weight_map").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal));
        foreach (var file in map.Values.Distinct())
        {
            if (Path.GetFileName(file) != file || file.Length == 0)
            {
                throw new ModelFormatException($"{IndexFile}: shard name '{file}' is not a plain file name in the model directory");
            }

            shards.Add(file, SafeTensorsFile.Open(Path.Combine(directory, file)));
        }

        return tensor =>
        {
            if (!map.TryGetValue(tensor, out var file))
            {
                return null;
            }

            return shards[file].TryGetTensor(tensor)
                ?? throw new ModelFormatException($"{IndexFile}: tensor '{tensor}' is mapped to {file}, which does not contain it");
        };
    }

    /// <summary>Reports JSON of the wrong shape (a string where a number belongs, a missing member) as a format
    /// error rather than as the exception System.Text.Json throws.</summary>
    private static T WithContext<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new ModelFormatException($"malformed Hugging Face JSON: {e.Message}", e);
        }
    }
}
