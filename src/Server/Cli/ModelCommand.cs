using System.CommandLine;
using System.Diagnostics;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Tensors;

namespace Serving.Server.Cli;

/// <summary><c>serving model create</c>: writes a random-weight model of a real shape as GGUF.</summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Model shape: {string.Join(", ", SyntheticPreset.Names)}", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Weight type of the matrices: q4_0, q8_0, q4_k, q5_k, q6_k, f16, bf16, f32", DefaultValueFactory = _ => "q4_0" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "GGUF file to write", Required = true };
        var create = new Command("create", "Write a random-weight model of a real shape (for size and speed work)") { preset, dtype, seed, output };
        create.SetAction(result =>
        {
            using var logging = CliLogging.Create(verbose: false);
            var logger = logging.CreateLogger("model");
            try
            {
                var type = ParseType(result.GetValue(dtype)!);
                var path = result.GetValue(output)!;
                var watch = Stopwatch.StartNew();
                SyntheticModelFile.Write(result.GetValue(preset)!, type, result.GetValue(seed), path);
                logger.LogInformation("Wrote {Path} ({Megabytes:F1} MB) in {Seconds:F1} s", path, new FileInfo(path).Length / 1e6, watch.Elapsed.TotalSeconds);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                logger.LogError("{Message}", e.Message);
                return 1;
            }
        });
        return new Command("model", "Model tools") { create };
    }

    private static GgmlType ParseType(string text) => text.ToLowerInvariant() switch
    {
        "q4_0" => GgmlType.Q4_0,
        "q8_0" => GgmlType.Q8_0,
        "q4_k" => GgmlType.Q4_K,
        "q5_k" => GgmlType.Q5_K,
        "q6_k" => GgmlType.Q6_K,
        "f16" => GgmlType.F16,
        "bf16" => GgmlType.BF16,
        "f32" => GgmlType.F32,
        _ => throw new ArgumentException($"unknown --dtype '{text}'; choose q4_0, q8_0, q4_k, q5_k, q6_k, f16, bf16 or f32"),
    };
}
