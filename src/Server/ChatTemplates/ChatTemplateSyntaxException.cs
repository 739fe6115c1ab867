namespace Serving.Server.ChatTemplates;

/// <summary>A chat template's source is not valid Jinja (or uses a filter, test or tag this interpreter does not
/// know). The message starts with the line number.</summary>
public sealed class ChatTemplateSyntaxException : ChatTemplateException
{
    /// <summary>Creates an exception without a message.</summary>
    public ChatTemplateSyntaxException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public ChatTemplateSyntaxException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public ChatTemplateSyntaxException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a problem on a 1-based source line.</summary>
    /// <param name="line">The 1-based line of the template source.</param>
    /// <param name="message">What is wrong.</param>
    public ChatTemplateSyntaxException(int line, string message)
        : base($"line {line}: {message}")
    {
        Line = line;
        Reason = message;
    }

    /// <summary>The 1-based source line of the problem; 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>The problem without the line prefix.</summary>
    public string? Reason { get; }
}
