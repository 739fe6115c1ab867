using System.Text.Json;
using Serving.Kernels.Tokenizers;
using Serving.Server.Api.Errors;
using Serving.Server.Api.Http;

namespace Serving.Server.Inference;

/// <summary>The <c>prompt</c> of a text completion in every shape OpenAI accepts: a string, an array of strings, an
/// array of token ids, or an array of token-id arrays.</summary>
internal static class PromptInput
{
    /// <summary>Most prompts one request may batch.</summary>
    public const int MaxPrompts = 64;

    public static List<int[]> Parse(JsonElement? prompt, ITokenizer tokenizer, bool addSpecialTokens)
    {
        if (prompt is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("prompt is required", "prompt");
        }

        var prompts = new List<int[]>();
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                prompts.Add(Encode(JsonStrings.Get(element, "prompt"), tokenizer, addSpecialTokens));
                break;
            case JsonValueKind.Array:
                var count = element.GetArrayLength();
                if (count == 0)
                {
                    throw ApiException.BadRequest("prompt must not be an empty array", "prompt");
                }

                var first = element[0].ValueKind;
                if (first == JsonValueKind.Number)
                {
                    prompts.Add(TokenIds(element, tokenizer.VocabSize));
                    break;
                }

                if (count > MaxPrompts)
                {
                    throw ApiException.BadRequest($"prompt may batch at most {MaxPrompts} prompts, got {count}", "prompt");
                }

                foreach (var item in element.EnumerateArray())
                {
                    prompts.Add(item.ValueKind switch
                    {
                        JsonValueKind.String when first == JsonValueKind.String => Encode(JsonStrings.Get(item, "prompt"), tokenizer, addSpecialTokens),
                        JsonValueKind.Array when first == JsonValueKind.Array => TokenIds(item, tokenizer.VocabSize),
                        _ => throw Shape(),
                    });
                }

                break;
            default:
                throw Shape();
        }

        return prompts;
    }

    /// <summary>A text prompt's tokens; refuses one that encodes to nothing.</summary>
    public static int[] Encode(string text, ITokenizer tokenizer, bool addSpecialTokens)
    {
        var ids = tokenizer.Encode(text, addSpecialTokens);
        return ids.Length > 0 ? ids : throw ApiException.BadRequest("prompt must not be empty (this model adds no BOS token to an empty prompt)", "prompt");
    }

    /// <summary>A token-id prompt, checked: not empty, every id in the vocabulary.</summary>
    public static int[] TokenIds(IReadOnlyList<int> ids, int vocabSize)
    {
        if (ids.Count == 0)
        {
            throw ApiException.BadRequest("a token-id prompt must not be empty", "prompt");
        }

        foreach (var id in ids)
        {
            if ((uint)id >= (uint)vocabSize)
            {
                throw ApiException.BadRequest($"token id {id} is outside the vocabulary of {vocabSize}", "prompt");
            }
        }

        return [.. ids];
    }

    private static int[] TokenIds(JsonElement array, int vocabSize)
    {
        var ids = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
            {
                throw Shape();
            }

            ids[i++] = id;
        }

        return TokenIds(ids, vocabSize);
    }

    private static ApiException Shape() =>
        ApiException.BadRequest("prompt must be a string, an array of strings, an array of token ids, or an array of token-id arrays", "prompt");
}
