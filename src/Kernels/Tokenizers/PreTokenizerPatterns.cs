using System.Text.RegularExpressions;

namespace Serving.Kernels.Tokenizers;

/// <summary>The pre-tokenizer regexes of the byte-level BPE families, built once per process. .NET's regex
/// engine matches UTF-16 code units, so letters and digits outside the BMP fall into the "other" class; the
/// reference implementations in Microsoft.ML.Tokenizers share that behaviour.</summary>
internal static class PreTokenizerPatterns
{
    /// <summary>GPT-2's pattern (tiktoken r50k_base / gpt2).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's pattern (tiktoken cl100k-like, digits in groups of one to three).</summary>
    public const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's pattern: Llama 3's with single digits.</summary>
    public const string Qwen2 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const RegexOptions Options = RegexOptions.Compiled | RegexOptions.CultureInvariant;

    private static readonly Lazy<Regex> s_gpt2 = new(() => new Regex(Gpt2, Options));
    private static readonly Lazy<Regex> s_llama3 = new(() => new Regex(Llama3, Options));
    private static readonly Lazy<Regex> s_qwen2 = new(() => new Regex(Qwen2, Options));

    /// <summary>The regex for a family name as GGUF's <c>tokenizer.ggml.pre</c> spells it; null means gpt2.</summary>
    public static Regex ForFamily(string? family) => family switch
    {
        null or "gpt2" or "default" => s_gpt2.Value,
        "llama3" or "llama-bpe" or "llama-v3" => s_llama3.Value,
        "qwen2" => s_qwen2.Value,
        _ => throw new NotSupportedException(
            $"Byte-level pre-tokenizer '{family}' is not supported (known: gpt2, llama3/llama-bpe, qwen2)."),
    };

    /// <summary>The family name whose pattern is exactly <paramref name="pattern"/>, or null.</summary>
    public static string? FamilyOfPattern(string pattern) => pattern switch
    {
        Gpt2 => "gpt2",
        Llama3 => "llama3",
        Qwen2 => "qwen2",
        _ => null,
    };
}
