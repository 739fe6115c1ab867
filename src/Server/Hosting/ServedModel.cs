using Serving.Kernels.Models;
using Serving.Kernels.Runner;
using Serving.Scheduler.Engine;
using Serving.Server.ChatTemplates;

namespace Serving.Server.Hosting;

/// <summary>The model the server answers for: its name, weights and tokenizer, and the engine running it.</summary>
internal sealed class ServedModel : IDisposable
{
    public ServedModel(string name, LoadedModel model, CpuModelRunner runner, LlmEngine engine, ChatTemplate? template, long createdUnixSeconds)
    {
        ChatTemplate = template ?? ChatTemplate.Fallback;
        UsesFallbackTemplate = template is null;
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

    /// <summary>The chat template requests are rendered with: the model's own (or <c>--chat-template</c>), else
    /// <see cref="ChatTemplate.Fallback"/>.</summary>
    public ChatTemplate ChatTemplate { get; }

    /// <summary>Whether <see cref="ChatTemplate"/> is the fallback (which writes no BOS of its own).</summary>
    public bool UsesFallbackTemplate { get; }

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
