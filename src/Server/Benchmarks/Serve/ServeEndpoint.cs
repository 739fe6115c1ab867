namespace Serving.Server.Benchmarks.Serve;

/// <summary>Which OpenAI endpoint the load goes to.</summary>
internal enum ServeEndpoint
{
    /// <summary><c>/v1/completions</c> with token-id prompts.</summary>
    Completions,

    /// <summary><c>/v1/chat/completions</c> with one user message.</summary>
    Chat,
}
