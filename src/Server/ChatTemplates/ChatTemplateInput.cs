namespace Serving.Server.ChatTemplates;

/// <summary>What a chat template is rendered with: the variables Hugging Face transformers' apply_chat_template
/// passes. Values are plain .NET: string, bool, long or int, double, null, <see cref="IReadOnlyList{T}"/> of object
/// and <see cref="IReadOnlyDictionary{TKey, TValue}"/> of string to object.</summary>
public sealed record ChatTemplateInput
{
    /// <summary>The conversation (<c>messages</c>): role, content (a string or a list of parts), and for assistant
    /// messages optionally <c>tool_calls</c>, for tool messages <c>tool_call_id</c>.</summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, object?>> Messages { get; init; }

    /// <summary>Whether the template appends the header that starts the assistant's turn
    /// (<c>add_generation_prompt</c>).</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary>The model's beginning-of-sequence token (<c>bos_token</c>); undefined in the template when null.</summary>
    public string? BosToken { get; init; }

    /// <summary>The model's end-of-sequence token (<c>eos_token</c>); undefined in the template when null.</summary>
    public string? EosToken { get; init; }

    /// <summary>The tool (function) definitions (<c>tools</c>); null renders as None.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, object?>>? Tools { get; init; }

    /// <summary>Further template variables (other apply_chat_template keyword arguments such as
    /// <c>enable_thinking</c>); they override the ones above.</summary>
    public IReadOnlyDictionary<string, object?>? ExtraVariables { get; init; }

    /// <summary>The clock behind <c>strftime_now</c>, which formats the provider's local time.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
