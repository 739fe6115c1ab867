namespace Serving.Server.Models.HuggingFace;

/// <summary>A Hub download failed: not found, no access, offline without a cached copy, a corrupt transfer. An
/// <see cref="IOException"/>, so commands that report I/O failures report these too.</summary>
internal sealed class HuggingFaceHubException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HuggingFaceHubException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public HuggingFaceHubException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public HuggingFaceHubException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception; <paramref name="isTransient"/> failures (5xx, 429) are worth retrying.</summary>
    public HuggingFaceHubException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTransient = isTransient;
    }

    /// <summary>A retry may succeed.</summary>
    public bool IsTransient { get; }
}
