namespace Serving.Scheduler.Generation;

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token was sampled.</summary>
    Stop,

    /// <summary>The token limit was reached.</summary>
    Length,

    /// <summary>The sequence filled the model's context or the KV pool.</summary>
    ContextFull,

    /// <summary>The request was aborted (client gone, server draining).</summary>
    Abort,
}
