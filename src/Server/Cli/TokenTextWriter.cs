using System.Text;
using Serving.Kernels.Tokenizers;

namespace Serving.Server.Cli;

/// <summary>Writes generated tokens to a stream as UTF-8 text as soon as each is sampled (see
/// <see cref="IncrementalDetokenizer"/>: always valid UTF-8, equal to the one-shot decode).</summary>
internal sealed class TokenTextWriter : IDisposable
{
    private readonly IncrementalDetokenizer _detokenizer;
    private readonly StreamWriter _writer;

    public TokenTextWriter(ITokenizer tokenizer, Stream output, bool atStartOfText)
    {
        _detokenizer = new IncrementalDetokenizer(tokenizer, atStartOfText);
        _writer = new StreamWriter(output, new UTF8Encoding(false), 4096, leaveOpen: true);
    }

    public void Write(int token)
    {
        _writer.Write(_detokenizer.Add(token));
        _writer.Flush();
    }

    public void Dispose()
    {
        _writer.Write(_detokenizer.Flush());
        _writer.Dispose();
    }
}
