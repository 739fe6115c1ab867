using System.Text;
using System.Text.Json;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;
using Serving.Server.Api.OpenAi;
using Serving.Server.ChatTemplates;
using Serving.Server.Hosting;

namespace Serving.Server.Inference;

/// <summary>
/// Renders a conversation with the model's chat template and tokenizes it, the same way for chat completions and
/// for <c>/tokenize</c>. Text parts of a message are joined with newlines into one string, as vLLM does for
/// templates that expect string content. A template that writes its own BOS is tokenized without adding another;
/// the fallback template writes none, so BOS is added as for a plain prompt.
/// </summary>
internal static class ChatPrompt
{
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    public static (string Text, int[] Tokens) Render(
        ServedModel model,
        List<ChatMessage>? messages,
        bool addGenerationPrompt,
        bool continueFinalMessage,
        Dictionary<string, JsonElement>? kwargs,
        TimeProvider time)
    {
        if (messages is null || messages.Count == 0)
        {
            throw ApiException.BadRequest("messages must be a non-empty array", "messages");
        }

        if (continueFinalMessage && addGenerationPrompt)
        {
            throw ApiException.BadRequest("continue_final_message and add_generation_prompt cannot both be true", "continue_final_message");
        }

        var converted = new List<IReadOnlyDictionary<string, object?>>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            converted.Add(Convert(messages[i], i));
        }

        if (continueFinalMessage && converted[^1]["role"] as string != "assistant")
        {
            throw ApiException.BadRequest("continue_final_message needs an assistant message last", "continue_final_message");
        }

        var tokenizer = model.Model.Tokenizer;
        var input = new ChatTemplateInput
        {
            Messages = converted,
            AddGenerationPrompt = addGenerationPrompt,
            BosToken = tokenizer.BosId >= 0 ? tokenizer.GetTokenText(tokenizer.BosId) : null,
            EosToken = tokenizer.EosId >= 0 ? tokenizer.GetTokenText(tokenizer.EosId) : null,
            ExtraVariables = kwargs is null ? null : kwargs.ToDictionary(p => p.Key, p => JsonObjects.ToValue(p.Value, "chat_template_kwargs"), StringComparer.Ordinal),
            TimeProvider = time,
        };

        string text;
        try
        {
            text = model.ChatTemplate.Render(input);
        }
        catch (ChatTemplateException e)
        {
            throw ApiException.BadRequest($"The chat template refused the conversation: {e.Message}", "messages", "chat_template_error");
        }

        if (continueFinalMessage)
        {
            // Cut after the final message's text so generation continues it instead of opening a new turn.
            var final = converted[^1]["content"] as string ?? string.Empty;
            var at = text.LastIndexOf(final, StringComparison.Ordinal);
            if (final.Length > 0 && at >= 0)
            {
                text = text[..(at + final.Length)];
            }
        }

        var tokens = tokenizer.Encode(text, addSpecialTokens: model.UsesFallbackTemplate);
        if (tokens.Length == 0)
        {
            throw ApiException.BadRequest("the conversation renders to an empty prompt", "messages");
        }

        return (text, tokens);
    }

    private static Dictionary<string, object?> Convert(ChatMessage message, int index)
    {
        var role = message.Role;
        if (role is null || !Roles.Contains(role))
        {
            throw ApiException.BadRequest($"messages[{index}].role must be one of system, developer, user, assistant or tool, got '{role}'", $"messages[{index}].role");
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            // Templates know "system"; OpenAI's newer "developer" role means the same.
            ["role"] = role == "developer" ? "system" : role,
            ["content"] = Content(message.Content, index, role),
        };
        if (message.Name is not null)
        {
            result["name"] = message.Name;
        }

        if (message.ToolCallId is not null)
        {
            result["tool_call_id"] = message.ToolCallId;
        }

        if (message.ToolCalls is { ValueKind: JsonValueKind.Array } calls)
        {
            result["tool_calls"] = JsonObjects.ToValue(calls, $"messages[{index}].tool_calls");
        }
        else if (message.ToolCalls is { ValueKind: not JsonValueKind.Null })
        {
            throw ApiException.BadRequest($"messages[{index}].tool_calls must be an array", $"messages[{index}].tool_calls");
        }

        if (message.FunctionCall is { ValueKind: not JsonValueKind.Null })
        {
            throw ApiException.Unsupported($"messages[{index}].function_call");
        }

        return result;
    }

    private static string? Content(JsonElement? content, int index, string role)
    {
        var param = $"messages[{index}].content";
        switch (content?.ValueKind)
        {
            case JsonValueKind.String:
                return JsonStrings.Get(content.Value, param);
            case null or JsonValueKind.Null when role == "assistant":
                return null;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                var part = 0;
                foreach (var item in content.Value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                    {
                        throw ApiException.BadRequest($"{param}[{part}] must be an object with a type", param);
                    }

                    if (!type.ValueEquals("text") || !item.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                    {
                        throw ApiException.BadRequest($"{param}[{part}]: only text parts are supported, got type '{JsonStrings.Get(type, param)}'", param, "unsupported_parameter");
                    }

                    if (part++ > 0)
                    {
                        text.Append('\n');
                    }

                    text.Append(JsonStrings.Get(value, param));
                }

                return text.ToString();
            default:
                throw ApiException.BadRequest($"{param} must be a string or an array of text parts", param);
        }
    }
}
