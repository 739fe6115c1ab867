using System.Globalization;
using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python's two string formatting styles: <c>str.format</c> (<c>{}</c>, <c>{0}</c>, <c>{name}</c>) and
/// printf-style <c>%</c> (the <c>format</c> filter and the <c>%</c> operator on strings).</summary>
internal static class StringFormatting
{
    public static string Format(string template, Arguments args)
    {
        var sb = new StringBuilder();
        var auto = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                sb.Append('}');
                i++;
                continue;
            }

            if (c != '{')
            {
                sb.Append(c);
                continue;
            }

            if (i + 1 < template.Length && template[i + 1] == '{')
            {
                sb.Append('{');
                i++;
                continue;
            }

            var close = template.IndexOf('}', i);
            if (close < 0)
            {
                throw new ChatTemplateException("Single '{' encountered in format string");
            }

            var field = template[(i + 1)..close];
            var conversion = ' ';
            var bang = field.IndexOf('!');
            if (bang >= 0)
            {
                conversion = bang + 1 < field.Length ? field[bang + 1] : 's';
                field = field[..bang];
            }

            if (field.Contains(':', StringComparison.Ordinal))
            {
                throw new ChatTemplateException("format specifications in str.format are not supported");
            }

            object? value;
            if (field.Length == 0)
            {
                value = Positional(args, auto++);
            }
            else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                value = Positional(args, index);
            }
            else
            {
                value = args.Has(-1, field) ? args.Get(-1, field) : throw new ChatTemplateException($"'{field}'");
            }

            sb.Append(conversion == 'r' ? Repr.Of(value) : Repr.Str(value));
            i = close;
        }

        return sb.ToString();
    }

    private static object? Positional(Arguments args, int index) => index < args.Positional.Count
        ? args.Positional[index]
        : throw new ChatTemplateException($"Replacement index {index} out of range for positional args tuple");

    /// <summary>printf-style formatting with <c>%s %r %d %i %f %x %%</c>, precision and width.</summary>
    public static string Percent(string template, object? values)
    {
        List<object?> items = values is PyTuple tuple ? [.. tuple] : [values];
        var mapping = values as IReadOnlyDictionary<string, object?>;
        var next = 0;
        var sb = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] != '%')
            {
                sb.Append(template[i]);
                continue;
            }

            if (++i >= template.Length)
            {
                throw new ChatTemplateException("incomplete format");
            }

            object? value;
            if (template[i] == '(')
            {
                var end = template.IndexOf(')', i);
                if (end < 0 || mapping is null)
                {
                    throw new ChatTemplateException("format requires a mapping");
                }

                value = mapping.TryGetValue(template[(i + 1)..end], out var v) ? v : throw new ChatTemplateException(Repr.Of(template[(i + 1)..end]));
                i = end + 1;
            }
            else
            {
                value = null;
            }

            var specStart = i;
            while (i < template.Length && (char.IsAsciiDigit(template[i]) || template[i] is '.' or '-' or '+' or ' ' or '#' or '0'))
            {
                i++;
            }

            if (i >= template.Length)
            {
                throw new ChatTemplateException("incomplete format");
            }

            var spec = template[specStart..i];
            var kind = template[i];
            if (kind == '%')
            {
                sb.Append('%');
                continue;
            }

            if (template[specStart - 1] != ')')
            {
                value = next < items.Count ? items[next++] : throw new ChatTemplateException("not enough arguments for format string");
            }

            sb.Append(Pad(Convert(kind, spec, Values.Normalize(value)), spec));
        }

        if (mapping is null && next < items.Count)
        {
            throw new ChatTemplateException("not all arguments converted during string formatting");
        }

        return sb.ToString();
    }

    private static string Convert(char kind, string spec, object? value)
    {
        var dot = spec.IndexOf('.');
        var precision = dot >= 0 && int.TryParse(spec.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 6;
        return kind switch
        {
            's' => Repr.Str(value),
            'r' or 'a' => Repr.Of(value),
            'd' or 'i' or 'u' => Values.IsNumber(value) ? ((long)Math.Truncate(Values.ToDouble(value))).ToString(CultureInfo.InvariantCulture) : throw new ChatTemplateException($"%{kind} format: a real number is required, not {Values.TypeName(value)}"),
            'f' or 'F' => Values.ToDouble(value).ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            'x' => Values.ToLong(value).ToString("x", CultureInfo.InvariantCulture),
            'X' => Values.ToLong(value).ToString("X", CultureInfo.InvariantCulture),
            _ => throw new ChatTemplateException($"unsupported format character '{kind}'"),
        };
    }

    private static string Pad(string text, string spec)
    {
        var dot = spec.IndexOf('.');
        var widthText = (dot >= 0 ? spec[..dot] : spec).TrimStart('-', '+', ' ', '#');
        var leftAlign = spec.StartsWith('-');
        var zero = widthText.StartsWith('0');
        if (!int.TryParse(widthText, NumberStyles.None, CultureInfo.InvariantCulture, out var width) || width <= text.Length)
        {
            return text;
        }

        return leftAlign ? text.PadRight(width) : text.PadLeft(width, zero ? '0' : ' ');
    }
}
