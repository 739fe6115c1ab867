using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Models.Synthetic;

/// <summary>
/// A SentencePiece-style vocabulary of any size for random-weight models: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256
/// byte-fallback tokens, then letters, digits and punctuation, then ever longer lowercase letter strings with and
/// without the ▁ word marker, scored so that longer pieces merge later. Any text encodes (through byte fallback if
/// nothing else), and random logits decode to word-like text.
/// </summary>
public static class SyntheticVocabulary
{
    private const string Letters = "etaoinshrdlcumwfgypbvkjxqz";

    /// <summary>Builds a vocabulary of exactly <paramref name="size"/> tokens (at least 300).</summary>
    public static VocabularySpec Create(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 300);
        var tokens = new List<string>(size) { "<unk>", "<s>", "</s>" };
        var types = new List<TokenType>(size) { TokenType.Unknown, TokenType.Control, TokenType.Control };
        for (var b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(TokenType.Byte);
        }

        var seen = new HashSet<string>(tokens);
        void Add(string piece)
        {
            if (tokens.Count < size && seen.Add(piece))
            {
                tokens.Add(piece);
                types.Add(TokenType.Normal);
            }
        }

        Add("▁");
        foreach (var c in Letters + Letters.ToUpperInvariant() + "0123456789.,!?'\"-:;()")
        {
            Add(c.ToString());
            Add("▁" + c);
        }

        var previous = new List<string>(Letters.Select(c => c.ToString()));
        while (tokens.Count < size)
        {
            var next = new List<string>();
            foreach (var stem in previous)
            {
                foreach (var c in Letters)
                {
                    var piece = stem + c;
                    next.Add(piece);
                    Add("▁" + piece);
                    Add(piece);
                }
            }

            previous = next;
        }

        var scores = new float[size];
        for (var i = 0; i < size; i++)
        {
            scores[i] = types[i] == TokenType.Normal ? -i : 0f;
        }

        return new VocabularySpec
        {
            Kind = TokenizerKind.SentencePieceBpe,
            Tokens = tokens,
            Scores = scores,
            Types = types,
            BosId = 1,
            EosId = 2,
            UnknownId = 0,
            AddBos = true,
            AddSpacePrefix = true,
        };
    }
}
