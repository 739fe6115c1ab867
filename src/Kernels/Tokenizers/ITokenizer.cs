namespace Serving.Kernels.Tokenizers;

/// <summary>Turns text into token ids and back, with the special-token conventions of the model it came with.</summary>
public interface ITokenizer
{
    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or -1 when the model has none.</summary>
    int BosId { get; }

    /// <summary>End-of-sequence id, or -1 when the model has none.</summary>
    int EosId { get; }

    /// <summary>Whether the model's metadata asks for BOS at the start of a prompt.</summary>
    bool AddBos { get; }

    /// <summary>Whether decoding from the start of a sequence drops the first piece's leading space (SentencePiece's
    /// dummy prefix). A continuation of earlier text keeps it.</summary>
    bool StripsLeadingSpace { get; }

    /// <summary>Encodes <paramref name="text"/>; special tokens written in the text (e.g. <c>&lt;s&gt;</c>) become their
    /// ids. Prepends BOS when <paramref name="addSpecialTokens"/> and the model asks for it.</summary>
    int[] Encode(string text, bool addSpecialTokens);

    /// <summary>Decodes ids to text from the start of a sequence: special tokens are skipped when asked, byte tokens
    /// are joined into UTF-8, and invalid UTF-8 becomes U+FFFD.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens);

    /// <summary>The raw bytes a token stands for in running text (a leading space included; empty for control
    /// tokens). Streaming detokenizers join these and cut only at whole UTF-8 characters.</summary>
    ReadOnlySpan<byte> GetTokenBytes(int id);

    /// <summary>Whether <paramref name="id"/> is a control/special token (BOS, EOS, chat markers).</summary>
    bool IsSpecial(int id);

    /// <summary>The token's text as the vocabulary lists it (e.g. <c>▁the</c>, <c>&lt;0x0A&gt;</c>).</summary>
    string GetTokenText(int id);
}
