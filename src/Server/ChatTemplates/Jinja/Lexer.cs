namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Splits template source into tokens with jinja2's whitespace rules for trim_blocks and lstrip_blocks:
/// newlines are normalised and one trailing newline dropped, <c>-</c> strips all whitespace on its side,
/// <c>+</c> opts out, a block or comment tag eats the newline after it, and whitespace from a line start up to a
/// block or comment tag is dropped.</summary>
internal sealed class Lexer
{
    private const string Operators2 = "//**==!=>=<=";
    private const string Operators1 = "+-/*%~[](){}><=.:|,;";

    private readonly string _source;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;

    private Lexer(string source)
    {
        _source = source;
    }

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(Normalize(source));
        lexer.Run();
        return lexer._tokens;
    }

    private static string Normalize(string source)
    {
        var s = source.Contains('\r', StringComparison.Ordinal)
            ? source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n')
            : source;
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    private void Run()
    {
        while (_pos < _source.Length)
        {
            var tag = FindTagStart(_pos);
            if (tag < 0)
            {
                Emit(TokenKind.Text, _source[_pos..]);
                break;
            }

            var kind = _source[tag + 1];
            var sign = tag + 2 < _source.Length && _source[tag + 2] is '-' or '+' ? _source[tag + 2] : '\0';
            EmitText(tag, kind, sign);
            _pos = tag + 2 + (sign == '\0' ? 0 : 1);
            switch (kind)
            {
                case '#':
                    SkipComment();
                    break;
                case '{':
                    Emit(TokenKind.VariableBegin, "{{");
                    LexInside(isBlock: false);
                    break;
                default:
                    Emit(TokenKind.BlockBegin, "{%");
                    LexInside(isBlock: true);
                    break;
            }
        }

        Emit(TokenKind.End, string.Empty);
    }

    private int FindTagStart(int from)
    {
        for (var i = _source.IndexOf('{', from); i >= 0 && i + 1 < _source.Length; i = _source.IndexOf('{', i + 1))
        {
            if (_source[i + 1] is '{' or '%' or '#')
            {
                return i;
            }
        }

        return -1;
    }

    private void EmitText(int tag, char kind, char sign)
    {
        var text = _source[_pos..tag];
        var lineAfter = _line + Count(text);
        if (sign == '-')
        {
            text = text[..PythonChars.StripEnd(text)];
        }
        else if (sign != '+' && kind != '{')
        {
            var lineStart = text.LastIndexOf('\n') + 1;
            var lineStarting = _pos == 0 || _source[_pos - 1] == '\n';
            if ((lineStart > 0 || lineStarting) && lineStart < text.Length && IsAllSpace(text, lineStart))
            {
                text = text[..lineStart];
            }
        }

        if (text.Length > 0)
        {
            Emit(TokenKind.Text, text);
        }

        _line = lineAfter;
    }

    private static bool IsAllSpace(string text, int from)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (!PythonChars.IsSpace(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private void SkipComment()
    {
        var end = _source.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new ChatTemplateSyntaxException(_line, "Missing end of comment tag");
        }

        var sign = end > _pos ? _source[end - 1] : '\0';
        _line += Count(_source.AsSpan(_pos, end - _pos));
        _pos = end + 2;
        AfterTagEnd(sign, trimNewline: true);
    }

    private void AfterTagEnd(char sign, bool trimNewline)
    {
        if (sign == '-')
        {
            while (_pos < _source.Length && PythonChars.IsSpace(_source[_pos]))
            {
                if (_source[_pos] == '\n')
                {
                    _line++;
                }

                _pos++;
            }
        }
        else if (sign != '+' && trimNewline && _pos < _source.Length && _source[_pos] == '\n')
        {
            _pos++;
            _line++;
        }
    }

    private void LexInside(bool isBlock)
    {
        var close = isBlock ? '%' : '}';
        var balance = new Stack<char>();
        while (true)
        {
            while (_pos < _source.Length && PythonChars.IsSpace(_source[_pos]))
            {
                if (_source[_pos] == '\n')
                {
                    _line++;
                }

                _pos++;
            }

            if (_pos >= _source.Length)
            {
                throw new ChatTemplateSyntaxException(_line, isBlock ? "unexpected end of template, expected 'end of statement block'." : "unexpected end of template, expected 'end of print statement'.");
            }

            if (balance.Count == 0 && TryTagEnd(close, isBlock))
            {
                return;
            }

            var c = _source[_pos];
            if (char.IsAsciiDigit(c))
            {
                LexNumber();
            }
            else if (c == '_' || char.IsLetter(c))
            {
                var start = _pos;
                while (_pos < _source.Length && (_source[_pos] == '_' || char.IsLetterOrDigit(_source[_pos])))
                {
                    _pos++;
                }

                Emit(TokenKind.Name, _source[start.._pos]);
            }
            else if (c is '\'' or '"')
            {
                LexString(c);
            }
            else
            {
                LexOperator(balance);
            }
        }
    }

    private bool TryTagEnd(char close, bool isBlock)
    {
        var s = _source;
        var sign = s[_pos] is '-' or '+' ? s[_pos] : '\0';
        var at = _pos + (sign == '\0' ? 0 : 1);
        if (at + 1 >= s.Length || s[at] != close || s[at + 1] != '}' || (sign == '+' && !isBlock))
        {
            return false;
        }

        Emit(isBlock ? TokenKind.BlockEnd : TokenKind.VariableEnd, isBlock ? "%}" : "}}");
        _pos = at + 2;
        AfterTagEnd(sign, trimNewline: isBlock);
        return true;
    }

    private void LexNumber()
    {
        var start = _pos;
        SkipDigits();
        var isFloat = false;
        if (_pos + 1 < _source.Length && _source[_pos] == '.' && char.IsAsciiDigit(_source[_pos + 1]))
        {
            _pos++;
            SkipDigits();
            isFloat = true;
        }

        if (_pos < _source.Length && _source[_pos] is 'e' or 'E')
        {
            var save = _pos;
            _pos++;
            if (_pos < _source.Length && _source[_pos] is '+' or '-')
            {
                _pos++;
            }

            if (_pos < _source.Length && char.IsAsciiDigit(_source[_pos]))
            {
                SkipDigits();
                isFloat = true;
            }
            else
            {
                _pos = save;
            }
        }

        Emit(isFloat ? TokenKind.Float : TokenKind.Integer, _source[start.._pos].Replace("_", string.Empty, StringComparison.Ordinal));
    }

    private void SkipDigits()
    {
        while (_pos < _source.Length && (char.IsAsciiDigit(_source[_pos])
            || (_source[_pos] == '_' && _pos + 1 < _source.Length && char.IsAsciiDigit(_source[_pos + 1]))))
        {
            _pos++;
        }
    }

    private void LexString(char quote)
    {
        var start = _pos + 1;
        var i = start;
        while (i < _source.Length && _source[i] != quote)
        {
            i += _source[i] == '\\' ? 2 : 1;
        }

        if (i >= _source.Length)
        {
            throw new ChatTemplateSyntaxException(_line, $"unexpected char \"{quote}\" at {_pos}");
        }

        var line = _line;
        var body = _source[start..i];
        _line += Count(body);
        _pos = i + 1;
        _tokens.Add(new Token(TokenKind.String, StringLiteral.Unescape(body, line), line));
    }

    private void LexOperator(Stack<char> balance)
    {
        if (_pos + 1 < _source.Length)
        {
            var pair = _source.AsSpan(_pos, 2);
            for (var k = 0; k < Operators2.Length; k += 2)
            {
                if (pair.SequenceEqual(Operators2.AsSpan(k, 2)))
                {
                    Emit(TokenKind.Operator, pair.ToString());
                    _pos += 2;
                    return;
                }
            }
        }

        var c = _source[_pos];
        if (!Operators1.Contains(c, StringComparison.Ordinal))
        {
            throw new ChatTemplateSyntaxException(_line, $"unexpected char {Quote(c)} at {_pos}");
        }

        switch (c)
        {
            case '(': balance.Push(')'); break;
            case '[': balance.Push(']'); break;
            case '{': balance.Push('}'); break;
            case ')' or ']' or '}':
                if (balance.Count == 0)
                {
                    throw new ChatTemplateSyntaxException(_line, $"unexpected '{c}'");
                }

                var expected = balance.Pop();
                if (expected != c)
                {
                    throw new ChatTemplateSyntaxException(_line, $"unexpected '{c}', expected '{expected}'");
                }

                break;
        }

        Emit(TokenKind.Operator, c.ToString());
        _pos++;
    }

    private static string Quote(char c) => c == '\'' ? "\"'\"" : $"'{c}'";

    private void Emit(TokenKind kind, string value) => _tokens.Add(new Token(kind, value, _line));

    private static int Count(ReadOnlySpan<char> text) => text.Count('\n');
}
