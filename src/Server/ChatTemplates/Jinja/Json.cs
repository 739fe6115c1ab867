using System.Globalization;
using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python's <c>json.dumps</c>, which transformers' <c>tojson</c> filter is: separators ", " and ": "
/// (item separator "," once indenting), insertion-ordered keys unless sorted, floats as <c>repr</c>, and with
/// ensure_ascii off only quotes, backslashes and control characters escaped.</summary>
internal sealed class Json
{
    private readonly string? _indent;
    private readonly string _itemSeparator;
    private readonly string _keySeparator;
    private readonly bool _sortKeys;
    private readonly bool _ensureAscii;
    private readonly StringBuilder _sb = new();

    private Json(string? indent, string itemSeparator, string keySeparator, bool sortKeys, bool ensureAscii)
    {
        _indent = indent;
        _itemSeparator = itemSeparator;
        _keySeparator = keySeparator;
        _sortKeys = sortKeys;
        _ensureAscii = ensureAscii;
    }

    public static string Dumps(object? value, Arguments options)
    {
        var indent = options.Get(1, "indent") switch
        {
            null => null,
            long n => new string(' ', (int)Math.Clamp(n, 0, 1000)),
            string s => s,
            var other => throw new ChatTemplateException($"indent must be an int or a string, not {Values.TypeName(other)}"),
        };
        var (itemSeparator, keySeparator) = options.Get(2, "separators") switch
        {
            null => (indent is null ? ", " : ",", ": "),
            IReadOnlyList<object?> { Count: 2 } pair when pair[0] is string a && pair[1] is string b => (a, b),
            _ => throw new ChatTemplateException("separators must be a pair of strings"),
        };
        var json = new Json(indent, itemSeparator, keySeparator, Values.IsTruthy(options.Get(3, "sort_keys", false)), Values.IsTruthy(options.Get(0, "ensure_ascii", false)));
        json.Write(value, 0);
        return json._sb.ToString();
    }

    private void Write(object? value, int depth)
    {
        if (depth > 500)
        {
            throw new ChatTemplateException("maximum recursion depth exceeded while encoding a JSON object");
        }

        value = Values.Normalize(value);
        switch (value)
        {
            case null: _sb.Append("null"); break;
            case bool b: _sb.Append(b ? "true" : "false"); break;
            case long l: _sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: _sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : Repr.Float(d)); break;
            case string s: WriteString(s); break;
            case IReadOnlyList<object?> list: WriteList(list, depth); break;
            case IReadOnlyDictionary<string, object?> dict: WriteDict(dict, depth); break;
            default: throw new ChatTemplateException($"Object of type {Values.TypeName(value)} is not JSON serializable");
        }
    }

    private void WriteList(IReadOnlyList<object?> list, int depth)
    {
        if (list.Count == 0)
        {
            _sb.Append("[]");
            return;
        }

        _sb.Append('[');
        for (var i = 0; i < list.Count; i++)
        {
            Separate(i, depth + 1);
            Write(list[i], depth + 1);
        }

        NewLine(depth);
        _sb.Append(']');
    }

    private void WriteDict(IReadOnlyDictionary<string, object?> dict, int depth)
    {
        if (dict.Count == 0)
        {
            _sb.Append("{}");
            return;
        }

        IEnumerable<KeyValuePair<string, object?>> pairs = _sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal) : dict;
        _sb.Append('{');
        var i = 0;
        foreach (var (key, value) in pairs)
        {
            Separate(i++, depth + 1);
            WriteString(key);
            _sb.Append(_keySeparator);
            Write(value, depth + 1);
        }

        NewLine(depth);
        _sb.Append('}');
    }

    private void Separate(int index, int depth)
    {
        if (index > 0)
        {
            _sb.Append(_itemSeparator);
        }

        NewLine(depth);
    }

    private void NewLine(int depth)
    {
        if (_indent is null)
        {
            return;
        }

        _sb.Append('\n');
        for (var i = 0; i < depth; i++)
        {
            _sb.Append(_indent);
        }
    }

    private void WriteString(string s)
    {
        _sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': _sb.Append("\\\""); break;
                case '\\': _sb.Append("\\\\"); break;
                case '\n': _sb.Append("\\n"); break;
                case '\r': _sb.Append("\\r"); break;
                case '\t': _sb.Append("\\t"); break;
                case '\b': _sb.Append("\\b"); break;
                case '\f': _sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (_ensureAscii && c > 0x7e))
                    {
                        _sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        _sb.Append(c);
                    }

                    break;
            }
        }

        _sb.Append('"');
    }
}
