using System.Globalization;
using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Decodes the body of a quoted string the way jinja2 does (Python's unicode-escape codec): known escapes
/// are replaced, unknown ones such as <c>\d</c> keep their backslash.</summary>
internal static class StringLiteral
{
    public static string Unescape(string body, int line)
    {
        if (!body.Contains('\\', StringComparison.Ordinal))
        {
            return body;
        }

        var sb = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c != '\\' || i + 1 >= body.Length)
            {
                sb.Append(c);
                continue;
            }

            var e = body[++i];
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': i = AppendHex(sb, body, i, 2, line); break;
                case 'u': i = AppendHex(sb, body, i, 4, line); break;
                case 'U': i = AppendHex(sb, body, i, 8, line); break;
                case >= '0' and <= '7':
                    var value = 0;
                    var digits = 0;
                    while (digits < 3 && i < body.Length && body[i] is >= '0' and <= '7')
                    {
                        value = (value * 8) + (body[i] - '0');
                        i++;
                        digits++;
                    }

                    i--;
                    sb.Append((char)value);
                    break;
                default:
                    sb.Append('\\').Append(e);
                    break;
            }
        }

        return sb.ToString();
    }

    private static int AppendHex(StringBuilder sb, string body, int at, int length, int line)
    {
        if (body.Length - at - 1 < length
            || !long.TryParse(body.AsSpan(at + 1, length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
            || code > 0x10FFFF)
        {
            throw new ChatTemplateSyntaxException(line, "truncated or invalid escape in string literal");
        }

        if (code is >= 0xD800 and <= 0xDFFF)
        {
            sb.Append((char)code);
        }
        else
        {
            sb.Append(char.ConvertFromUtf32((int)code));
        }

        return at + length;
    }
}
