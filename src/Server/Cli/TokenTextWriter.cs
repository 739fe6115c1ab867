using System.Text;
using Serving.Kernels.Tokenizers;

namespace Serving.Server.Cli;

/// <summary>Writes generated tokens to a stream as UTF-8 text as soon as each is sampled. A character spread over
/// several byte tokens is held back until complete; bytes that can never form a character become U+FFFD, so the
/// output is always valid UTF-8 and equals the one-shot decode.</summary>
internal sealed class TokenTextWriter : IDisposable
{
    private readonly ITokenizer _tokenizer;
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly StreamWriter _writer;
    private char[] _chars = new char[1024];
    private bool _stripNextLeadingSpace;

    public TokenTextWriter(ITokenizer tokenizer, Stream output, bool atStartOfText)
    {
        _tokenizer = tokenizer;
        _writer = new StreamWriter(output, new UTF8Encoding(false), 4096, leaveOpen: true);
        _stripNextLeadingSpace = atStartOfText && tokenizer.StripsLeadingSpace;
    }

    public void Write(int token)
    {
        var bytes = _tokenizer.GetTokenBytes(token);
        if (bytes.IsEmpty)
        {
            return;
        }

        // SentencePiece drops the dummy-prefix space of the first piece of a text, and only of the first.
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
        _writer.Write(_chars, 0, count);
        _writer.Flush();
    }

    public void Dispose()
    {
        var count = _decoder.GetChars([], _chars, flush: true);
        _writer.Write(_chars, 0, count);
        _writer.Dispose();
    }
}
