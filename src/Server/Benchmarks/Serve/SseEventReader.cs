using System.Text;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>
/// Reads the <c>data</c> of server-sent events from a response body as they arrive. Lines end in LF or CRLF; a
/// blank line dispatches the event; comments (<c>:</c> lines) and other fields are skipped; several <c>data</c>
/// lines join with LF. Lines are split on the raw bytes, so an event is returned the moment its blank line arrives
/// (a text reader can hold back a line ending in CR until the next read to look for LF, which would shift the
/// timestamps the benchmark takes). A lone CR as a line end is not recognized; no OpenAI-compatible server sends it.
/// </summary>
internal sealed class SseEventReader(Stream stream)
{
    private byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;
    private StringBuilder? _data;

    /// <summary>The next event's data, or null at the end of the stream (an unterminated last event is dropped, as
    /// the SSE specification says).</summary>
    public async ValueTask<string?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var length = newline - _start;
                if (length > 0 && _buffer[newline - 1] == '\r')
                {
                    length--;
                }

                var line = _buffer.AsSpan(_start, length);
                _start = newline + 1;
                if (line.IsEmpty)
                {
                    if (_data is not null)
                    {
                        var data = _data.ToString();
                        _data = null;
                        return data;
                    }

                    continue;
                }

                if (line.StartsWith("data"u8) && (line.Length == 4 || line[4] == ':'))
                {
                    var value = line.Length == 4 ? [] : line[5..];
                    if (!value.IsEmpty && value[0] == ' ')
                    {
                        value = value[1..];
                    }

                    if (_data is null)
                    {
                        _data = new StringBuilder(Encoding.UTF8.GetString(value));
                    }
                    else
                    {
                        _data.Append('\n').Append(Encoding.UTF8.GetString(value));
                    }
                }

                continue;
            }

            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            _end += read;
        }
    }
}
