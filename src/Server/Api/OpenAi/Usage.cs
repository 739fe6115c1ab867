namespace Serving.Server.Api.OpenAi;

/// <summary>Token counts of a response: prompt tokens once per prompt, completion tokens over all choices.</summary>
internal sealed record Usage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
