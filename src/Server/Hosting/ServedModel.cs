using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Scheduler.Engine;

namespace Serving.Server.Hosting;

/// <summary>The model the server answers for: its name, weights and tokenizer, and the engine running it.</summary>
internal sealed class ServedModel : IDisposable
{
    public ServedModel(string name, LoadedModel model, CpuModelRunner runner, LlmEngine engine, long createdUnixSeconds)
    {
        Name = name;
        Model = model;
        Runner = runner;
        Engine = engine;
        Created = createdUnixSeconds;
    }

    /// <summary>The id clients pass as <c>model</c>.</summary>
    public string Name { get; }

    public LoadedModel Model { get; }

    public CpuModelRunner Runner { get; }

    public LlmEngine Engine { get; }

    /// <summary>Unix time the model was loaded.</summary>
    public long Created { get; }

    /// <summary>Most tokens (prompt + output) one request may hold.</summary>
    public int MaxModelLen => Engine.ContextLimit;

    public void Dispose()
    {
        Engine.Dispose();
        Runner.Dispose();
        Model.Dispose();
    }
}
