using System.Diagnostics;
using Serving.Kernels.Formats;
using Serving.Kernels.Models;
using Serving.Kernels.Models.Synthetic;

namespace Serving.Server.Cli;

/// <summary>Opens the model a command names, or the built-in demo model when it names none.</summary>
internal static class ModelSource
{
    public static LoadedModel Open(string? path, string? tokenizerPath, ILogger logger)
    {
        var watch = Stopwatch.StartNew();
        if (string.IsNullOrEmpty(path))
        {
            var demo = DemoModel.Create();
            logger.LogWarning(
                "No --model given: using the built-in demo model {Name} (random weights, output is noise). Point --model at a GGUF file, a Hugging Face model directory, or a llama2.c .bin checkpoint to run a real model",
                DemoModel.Name);
            return demo;
        }

        var model = ModelLoader.Load(path, tokenizerPath);
        var c = model.Config;
        logger.LogInformation(
            "Loaded {Source} in {Milliseconds} ms: {Architecture}, {Layers} layers, hidden {Hidden}, {Heads} heads ({KvHeads} KV), vocab {Vocab}, context {Context}",
            model.Source,
            watch.ElapsedMilliseconds,
            c.Architecture,
            c.LayerCount,
            c.HiddenSize,
            c.HeadCount,
            c.KvHeadCount,
            c.VocabSize,
            c.MaxPositions);
        return model;
    }
}
