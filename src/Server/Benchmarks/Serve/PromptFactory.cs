using System.Text;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>
/// Random prompts of exactly the requested length as the server's own tokenizer counts it: seeded random words,
/// tokenized by the server (<c>/tokenize</c>) and cut to length. Completions send the token ids themselves, so the
/// count is exact by construction; chat sends text inside the chat template, so the message is re-sized (via
/// <c>/detokenize</c>) until the rendered prompt has the requested length. Each prompt is different, so no request
/// shares a prefix with another.
/// </summary>
internal static class PromptFactory
{
    private static readonly string[] Words =
    [
        "time", "little", "house", "river", "garden", "friend", "sun", "tree", "happy", "found", "played", "morning",
        "bird", "big", "small", "went", "dog", "cat", "ball", "red", "blue", "green", "walked", "saw", "day", "night",
        "moon", "star", "park", "school", "book", "water", "boat", "cake", "girl", "boy", "mother", "father", "sky",
        "flower", "rain", "snow", "wind", "hill", "road", "car", "train", "apple", "bread", "milk", "table", "chair",
        "window", "door", "light", "dark", "warm", "cold", "fast", "slow", "jumped", "laughed", "sang", "looked",
    ];

    /// <summary>How many times a chat message is re-sized before giving up on an exact length (each step moves by the
    /// remaining difference, so two or three usually suffice).</summary>
    private const int MaxChatAdjustments = 8;

    public static async Task<BenchmarkPrompt[]> CreateAsync(HttpClient http, ServeEndpoint endpoint, string model, int count, int length, int seed, ILogger logger, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var prompts = new BenchmarkPrompt[count];
        var inexact = 0;
        var overhead = 0;
        if (endpoint == ServeEndpoint.Chat)
        {
            overhead = await ServerApi.CountChatTokensAsync(http, model, string.Empty, cancellationToken).ConfigureAwait(false);
            if (overhead >= length)
            {
                throw new ArgumentException($"--input-len {length} leaves no room for a message: the chat template alone renders {overhead} tokens");
            }
        }

        for (var i = 0; i < count; i++)
        {
            // Room for the chat template's own tokens, which the message must leave space for.
            var ids = await RandomTokensAsync(http, model, random, endpoint == ServeEndpoint.Chat ? length * 2 : length, cancellationToken).ConfigureAwait(false);
            if (endpoint == ServeEndpoint.Completions)
            {
                prompts[i] = new BenchmarkPrompt(ids[..length], null, length);
                continue;
            }

            prompts[i] = await ChatPromptAsync(http, model, ids, length, overhead, cancellationToken).ConfigureAwait(false);
            inexact += prompts[i].PromptTokens == length ? 0 : 1;
        }

        if (inexact > 0)
        {
            logger.LogWarning("{Count} chat prompts could not be sized to exactly {Length} tokens inside the chat template; their real lengths are used", inexact, length);
        }

        return prompts;
    }

    private static async Task<int[]> RandomTokensAsync(HttpClient http, string model, Random random, int atLeast, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var words = atLeast;
        while (true)
        {
            while (words-- > 0)
            {
                text.Append(text.Length == 0 ? string.Empty : " ").Append(Words[random.Next(Words.Length)]);
            }

            var ids = await ServerApi.TokenizeAsync(http, model, text.ToString(), cancellationToken).ConfigureAwait(false);
            if (ids.Length >= atLeast)
            {
                return ids;
            }

            words = atLeast - ids.Length;
        }
    }

    private static async Task<BenchmarkPrompt> ChatPromptAsync(HttpClient http, string model, int[] ids, int length, int overhead, CancellationToken cancellationToken)
    {
        var take = length - overhead;
        var best = (Message: string.Empty, Tokens: overhead);
        for (var step = 0; step < MaxChatAdjustments; step++)
        {
            var message = await ServerApi.DetokenizeAsync(http, model, ids[..take], cancellationToken).ConfigureAwait(false);
            var tokens = await ServerApi.CountChatTokensAsync(http, model, message, cancellationToken).ConfigureAwait(false);
            if (Math.Abs(tokens - length) < Math.Abs(best.Tokens - length))
            {
                best = (message, tokens);
            }

            if (tokens == length)
            {
                break;
            }

            take = Math.Clamp(take + length - tokens, 1, ids.Length);
        }

        return new BenchmarkPrompt(null, best.Message, best.Tokens);
    }
}
