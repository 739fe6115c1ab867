using System.Globalization;
using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python's <c>str()</c> and <c>repr()</c> of values, which is how <c>{{ x }}</c> prints them.</summary>
internal static class Repr
{
    public static string Str(object? value)
    {
        value = Values.Normalize(value);
        return value switch
        {
            string s => s,
            Undefined => string.Empty,
            _ => Of(value),
        };
    }

    public static string Of(object? value)
    {
        value = Values.Normalize(value);
        switch (value)
        {
            case null: return "None";
            case bool b: return b ? "True" : "False";
            case long l: return l.ToString(CultureInfo.InvariantCulture);
            case double d: return Float(d);
            case string s: return QuoteString(s);
            case Undefined: return string.Empty;
            case PyTuple t:
                return t.Count == 1 ? $"({Of(t[0])},)" : "(" + string.Join(", ", t.Select(Of)) + ")";
            case IReadOnlyList<object?> list:
                return "[" + string.Join(", ", list.Select(Of)) + "]";
            case IReadOnlyDictionary<string, object?> dict:
                return "{" + string.Join(", ", dict.Select(p => QuoteString(p.Key) + ": " + Of(p.Value))) + "}";
            case Namespace ns:
                return "<Namespace " + Of(ns.Attributes) + ">";
            case Macro m:
                return $"<Macro '{m.Definition.Name}'>";
            case BuiltinFunction f:
                return $"<built-in function {f.Name}>";
            default:
                return value.ToString() ?? string.Empty;
        }
    }

    /// <summary>jinja2's object_type_repr, used in "has no attribute" messages.</summary>
    public static string ObjectType(object? value) => value switch
    {
        null => "None",
        Namespace => "jinja2.utils.Namespace object",
        LoopObject => "jinja2.runtime.LoopContext object",
        Macro => "jinja2.runtime.Macro object",
        _ => Values.TypeName(value) + " object",
    };

    /// <summary>Python's <c>repr(float)</c>: the shortest digits that round-trip, positional notation for decimal
    /// exponents from -4 to 15 and scientific (<c>1e+16</c>) outside.</summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }

        var (negative, digits, point) = ShortestDigits(d);
        var sb = new StringBuilder();
        if (negative)
        {
            sb.Append('-');
        }

        if (point <= -4 || point > 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }

            var exponent = point - 1;
            sb.Append('e').Append(exponent < 0 ? '-' : '+').Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (point <= 0)
        {
            sb.Append("0.").Append('0', -point).Append(digits);
        }
        else if (point >= digits.Length)
        {
            sb.Append(digits).Append('0', point - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
        }

        return sb.ToString();
    }

    /// <summary>The shortest round-trip decimal digits of <paramref name="d"/> and where the decimal point goes
    /// (value = 0.digits × 10^point).</summary>
    private static (bool Negative, string Digits, int Point) ShortestDigits(double d)
    {
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = r.StartsWith('-');
        if (negative)
        {
            r = r[1..];
        }

        var exponent = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        var dot = r.IndexOf('.');
        var integerPart = dot < 0 ? r : r[..dot];
        var fraction = dot < 0 ? string.Empty : r[(dot + 1)..];
        var all = integerPart + fraction;
        var leading = 0;
        while (leading < all.Length - 1 && all[leading] == '0')
        {
            leading++;
        }

        var digits = all[leading..].TrimEnd('0');
        if (digits.Length == 0)
        {
            return (negative, "0", 1);
        }

        return (negative, digits, integerPart.Length - leading + exponent);
    }

    public static string QuoteString(string s)
    {
        var quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || c is >= '\x7f' and <= '\xa0' || c == '\xad')
                    {
                        sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append(quote).ToString();
    }
}
