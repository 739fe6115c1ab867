using System.Text;
using Serving.Kernels.Tokenizers;

namespace Serving.Server.Inference;

/// <summary>How a single token is shown in logprobs: its text when its bytes are whole UTF-8, else vLLM's
/// <c>bytes:\xNN</c> form, and its raw bytes.</summary>
internal static class TokenStrings
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Text(ITokenizer tokenizer, int id)
    {
        var bytes = tokenizer.GetTokenBytes(id);
        if (bytes.IsEmpty)
        {
            return tokenizer.GetTokenText(id);
        }

        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            var builder = new StringBuilder("bytes:");
            foreach (var b in bytes)
            {
                builder.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }

            return builder.ToString();
        }
    }

    public static int[] Bytes(ITokenizer tokenizer, int id)
    {
        var bytes = tokenizer.GetTokenBytes(id);
        if (bytes.IsEmpty)
        {
            return [.. Encoding.UTF8.GetBytes(tokenizer.GetTokenText(id)).Select(b => (int)b)];
        }

        var result = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            result[i] = bytes[i];
        }

        return result;
    }
}
