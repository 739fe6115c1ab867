namespace Serving.Server.ChatTemplates;

/// <summary>A chat template failed while rendering: the template called <c>raise_exception</c> (the message is the
/// template's), or it hit a runtime error such as access to an attribute of an undefined value or a type error.</summary>
public class ChatTemplateException : Exception
{
    /// <summary>Creates an exception without a message.</summary>
    public ChatTemplateException()
    {
    }

    /// <summary>Creates an exception with the template's message.</summary>
    /// <param name="message">What the template raised, or the runtime error.</param>
    public ChatTemplateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the template's message and the error that caused it.</summary>
    /// <param name="message">What the template raised, or the runtime error.</param>
    /// <param name="innerException">The underlying error.</param>
    public ChatTemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
