using Serving.Server.ChatTemplates.Jinja;

namespace Serving.Server.ChatTemplates;

/// <summary>A Hugging Face chat template (the Jinja <c>chat_template</c> of tokenizer_config.json), parsed once
/// and rendered per request exactly as transformers' <c>apply_chat_template</c> renders it: jinja2's immutable
/// sandbox with trim_blocks, lstrip_blocks and loop controls, <c>tojson</c> as Python's <c>json.dumps</c>,
/// <c>raise_exception</c>, <c>strftime_now</c> and the <c>{% generation %}</c> block.</summary>
public sealed class ChatTemplate
{
    /// <summary>The source of <see cref="Fallback"/>: ChatML, as transformers' old default template.</summary>
    private const string FallbackSource =
        "{% for message in messages %}" +
        "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
        "{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static readonly Lazy<ChatTemplate> FallbackTemplate = new(() => Parse(FallbackSource));

    private readonly IReadOnlyList<Stmt> _body;

    private ChatTemplate(string source, IReadOnlyList<Stmt> body)
    {
        Source = source;
        _body = body;
    }

    /// <summary>The template for models that ship none: ChatML. Each message renders as
    /// <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>, and <c>add_generation_prompt</c> appends
    /// <c>&lt;|im_start|&gt;assistant\n</c>. Its Jinja source is
    /// <c>{% for message in messages %}{{ '&lt;|im_start|&gt;' + message['role'] + '\n' + message['content'] +
    /// '&lt;|im_end|&gt;' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '&lt;|im_start|&gt;assistant\n' }}{%
    /// endif %}</c>; content must be a string.</summary>
    public static ChatTemplate Fallback => FallbackTemplate.Value;

    /// <summary>The Jinja source the template was parsed from.</summary>
    public string Source { get; }

    /// <summary>Parses a chat template.</summary>
    /// <param name="source">The Jinja source.</param>
    /// <returns>The parsed template, ready to render many times.</returns>
    /// <exception cref="ChatTemplateSyntaxException">The source is not valid Jinja or uses an unknown filter, test
    /// or tag; the message names the line.</exception>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChatTemplate(source, Parser.Parse(source));
    }

    /// <summary>Renders the template over a conversation.</summary>
    /// <param name="input">The conversation and the other template variables.</param>
    /// <returns>The prompt text.</returns>
    /// <exception cref="ChatTemplateException">The template called <c>raise_exception</c> (the message is its
    /// argument) or failed at runtime, e.g. on an attribute of an undefined value or a type error.</exception>
    public string Render(ChatTemplateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var globals = new Scope(null);
        Globals.Define(globals, input.TimeProvider);
        globals.Set("messages", input.Messages);
        globals.Set("tools", input.Tools);
        globals.Set("documents", null);
        globals.Set("add_generation_prompt", input.AddGenerationPrompt);
        if (input.BosToken is not null)
        {
            globals.Set("bos_token", input.BosToken);
        }

        if (input.EosToken is not null)
        {
            globals.Set("eos_token", input.EosToken);
        }

        foreach (var (name, value) in input.ExtraVariables ?? new Dictionary<string, object?>())
        {
            globals.Set(name, Values.Normalize(value));
        }

        try
        {
            return Interpreter.Render(_body, globals);
        }
        catch (Exception e) when (e is InvalidCastException or ArgumentException or FormatException or OverflowException
                                      or IndexOutOfRangeException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ChatTemplateException(e.Message, e);
        }
    }
}
