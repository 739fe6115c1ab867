using System.Text;

namespace Serving.Kernels.Tokenizers;

/// <summary>
/// Turns generated tokens into text as they come. A character spread over several byte tokens is held back until
/// complete; bytes that can never form a character become U+FFFD exactly as the one-shot decode replaces them, so
/// the concatenated pieces always equal <see cref="ITokenizer.Decode"/> of the same tokens and never contain a broken
/// UTF-8 sequence. Special tokens produce no text.
/// </summary>
public sealed class IncrementalDetokenizer
{
    private readonly ITokenizer _tokenizer;
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private char[] _chars = new char[256];
    private bool _stripNextLeadingSpace;

    /// <summary>Starts a stream. <paramref name="atStartOfText"/>: the tokens begin a text (the prompt held no text,
    /// e.g. BOS alone), so SentencePiece's dummy-prefix space of the first piece is dropped, as a one-shot decode
    /// drops it; a continuation of text keeps its leading space.</summary>
    public IncrementalDetokenizer(ITokenizer tokenizer, bool atStartOfText)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _stripNextLeadingSpace = atStartOfText && tokenizer.StripsLeadingSpace;
    }

    /// <summary>The text that <paramref name="token"/> completes (possibly empty).</summary>
    public string Add(int token)
    {
        var bytes = _tokenizer.GetTokenBytes(token);
        if (bytes.IsEmpty)
        {
            return string.Empty;
        }

        if (_stripNextLeadingSpace && bytes[0] == (byte)' ')
        {
            bytes = bytes[1..];
        }

        _stripNextLeadingSpace = false;
        if (bytes.Length + 4 > _chars.Length)
        {
            _chars = new char[bytes.Length + 4];
        }

        var count = _decoder.GetChars(bytes, _chars, flush: false);
        return new string(_chars, 0, count);
    }

    /// <summary>Ends the stream: bytes still waiting for the rest of a character become U+FFFD.</summary>
    public string Flush()
    {
        var count = _decoder.GetChars([], _chars, flush: true);
        return new string(_chars, 0, count);
    }
}
