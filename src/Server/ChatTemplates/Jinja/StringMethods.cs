using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The Python <c>str</c> methods templates call, e.g. <c>content.split('&lt;/think&gt;')[-1].lstrip('\n')</c>.</summary>
internal static class StringMethods
{
    public static BuiltinFunction? Bind(string s, string name)
    {
        Func<Arguments, object?>? method = name switch
        {
            "strip" => a => Strip(s, a.Get(0, "chars"), true, true),
            "lstrip" => a => Strip(s, a.Get(0, "chars"), true, false),
            "rstrip" => a => Strip(s, a.Get(0, "chars"), false, true),
            "split" => a => Split(s, a.Get(0, "sep"), MaxSplit(a)),
            "rsplit" => a => RSplit(s, a.Get(0, "sep"), MaxSplit(a)),
            "splitlines" => a => SplitLines(s, Values.IsTruthy(a.Get(0, "keepends", false))),
            "startswith" => a => Affix(s, a.Get(0, "prefix"), prefix: true),
            "endswith" => a => Affix(s, a.Get(0, "suffix"), prefix: false),
            "upper" => _ => s.ToUpperInvariant(),
            "lower" => _ => s.ToLowerInvariant(),
            "casefold" => _ => s.ToLowerInvariant(),
            "swapcase" => _ => string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c))),
            "title" => _ => Title(s),
            "capitalize" => _ => Capitalize(s),
            "replace" => a => Replace(s, Text(a.Get(0, "old")), Text(a.Get(1, "new")), Values.ToLong(a.Get(2, "count", -1L))),
            "find" => a => (long)s.IndexOf(Text(a.Get(0, "sub")), StringComparison.Ordinal),
            "rfind" => a => (long)s.LastIndexOf(Text(a.Get(0, "sub")), StringComparison.Ordinal),
            "index" => a => Found(s.IndexOf(Text(a.Get(0, "sub")), StringComparison.Ordinal)),
            "rindex" => a => Found(s.LastIndexOf(Text(a.Get(0, "sub")), StringComparison.Ordinal)),
            "count" => a => Count(s, Text(a.Get(0, "sub"))),
            "format" => a => StringFormatting.Format(s, a),
            "join" => a => string.Join(s, Values.Iterate(a.Get(0, "iterable")).Select(Joinable)),
            "isdigit" or "isnumeric" or "isdecimal" => _ => s.Length > 0 && s.All(char.IsDigit),
            "isalpha" => _ => s.Length > 0 && s.All(char.IsLetter),
            "isalnum" => _ => s.Length > 0 && s.All(char.IsLetterOrDigit),
            "isspace" => _ => s.Length > 0 && s.All(PythonChars.IsSpace),
            "islower" => _ => s.Any(char.IsLower) && !s.Any(char.IsUpper),
            "isupper" => _ => s.Any(char.IsUpper) && !s.Any(char.IsLower),
            "center" => a => Pad(s, a, left: true, right: true),
            "ljust" => a => Pad(s, a, left: false, right: true),
            "rjust" => a => Pad(s, a, left: true, right: false),
            "zfill" => a => ZFill(s, (int)Values.ToLong(a.Get(0, "width"))),
            "removeprefix" => a => Text(a.Get(0, "prefix")) is var p && s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s,
            "removesuffix" => a => Text(a.Get(0, "suffix")) is var p && p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s,
            "partition" => a => Partition(s, Text(a.Get(0, "sep")), fromEnd: false),
            "rpartition" => a => Partition(s, Text(a.Get(0, "sep")), fromEnd: true),
            _ => null,
        };
        return method is null ? null : new BuiltinFunction(name, method);
    }

    private static string Text(object? value) => value as string
        ?? throw new ChatTemplateException($"must be str, not {Values.TypeName(value)}");

    private static string Joinable(object? value) => value as string
        ?? throw new ChatTemplateException($"sequence item: expected str instance, {Values.TypeName(value)} found");

    private static long Found(int index) => index >= 0 ? index : throw new ChatTemplateException("substring not found");

    private static long MaxSplit(Arguments a) => Values.ToLong(a.Get(1, "maxsplit", -1L));

    public static string Strip(string s, object? chars, bool left, bool right)
    {
        if (chars is Undefined u)
        {
            throw u.Error();
        }

        if (chars is not null and not string)
        {
            throw new ChatTemplateException($"strip arg must be None or str");
        }

        var set = chars as string;
        bool Strippable(char c) => set is null ? PythonChars.IsSpace(c) : set.Contains(c, StringComparison.Ordinal);
        var start = 0;
        var end = s.Length;
        while (left && start < end && Strippable(s[start]))
        {
            start++;
        }

        while (right && end > start && Strippable(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    public static List<object?> Split(string s, object? separator, long maxSplit)
    {
        var parts = new List<object?>();
        if (separator is null)
        {
            var i = 0;
            while (true)
            {
                while (i < s.Length && PythonChars.IsSpace(s[i]))
                {
                    i++;
                }

                if (i >= s.Length)
                {
                    return parts;
                }

                if (maxSplit >= 0 && parts.Count >= maxSplit)
                {
                    parts.Add(s[i..]);
                    return parts;
                }

                var start = i;
                while (i < s.Length && !PythonChars.IsSpace(s[i]))
                {
                    i++;
                }

                parts.Add(s[start..i]);
            }
        }

        var sep = Text(separator);
        if (sep.Length == 0)
        {
            throw new ChatTemplateException("empty separator");
        }

        var from = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            var at = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            parts.Add(s[from..at]);
            from = at + sep.Length;
        }

        parts.Add(s[from..]);
        return parts;
    }

    private static List<object?> RSplit(string s, object? separator, long maxSplit)
    {
        if (maxSplit < 0)
        {
            return Split(s, separator, maxSplit);
        }

        var parts = new List<object?>();
        if (separator is null)
        {
            var i = s.Length;
            while (true)
            {
                while (i > 0 && PythonChars.IsSpace(s[i - 1]))
                {
                    i--;
                }

                if (i <= 0)
                {
                    break;
                }

                if (parts.Count >= maxSplit)
                {
                    parts.Add(s[..i]);
                    break;
                }

                var end = i;
                while (i > 0 && !PythonChars.IsSpace(s[i - 1]))
                {
                    i--;
                }

                parts.Add(s[i..end]);
            }

            parts.Reverse();
            return parts;
        }

        var sep = Text(separator);
        if (sep.Length == 0)
        {
            throw new ChatTemplateException("empty separator");
        }

        var to = s.Length;
        while (parts.Count < maxSplit && to > 0)
        {
            var at = s.LastIndexOf(sep, to - 1, StringComparison.Ordinal);
            if (at < 0 || at + sep.Length > to)
            {
                break;
            }

            parts.Add(s[(at + sep.Length)..to]);
            to = at;
        }

        parts.Add(s[..to]);
        parts.Reverse();
        return parts;
    }

    private static List<object?> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<object?>();
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')
            {
                var end = i;
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n')
                {
                    i++;
                }

                lines.Add(keepEnds ? s[start..(i + 1)] : s[start..end]);
                start = i + 1;
            }
        }

        if (start < s.Length)
        {
            lines.Add(s[start..]);
        }

        return lines;
    }

    private static bool Affix(string s, object? affix, bool prefix)
    {
        if (affix is IReadOnlyList<object?> options)
        {
            return options.Any(o => Affix(s, o, prefix));
        }

        if (affix is not string text)
        {
            throw new ChatTemplateException($"{(prefix ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {Values.TypeName(affix)}");
        }

        return prefix ? s.StartsWith(text, StringComparison.Ordinal) : s.EndsWith(text, StringComparison.Ordinal);
    }

    /// <summary>Python's <c>str.title</c>: a letter after a non-letter starts a word.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var previousCased = false;
        foreach (var c in s)
        {
            sb.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = char.IsLetter(c);
        }

        return sb.ToString();
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0)
        {
            return old.Length == 0 ? Replace(s, old, replacement, long.MaxValue) : s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var sb = new StringBuilder();
        var from = 0;
        for (long n = 0; n < count; n++)
        {
            if (old.Length == 0)
            {
                sb.Append(replacement);
                if (from >= s.Length)
                {
                    return sb.ToString();
                }

                sb.Append(s[from++]);
                continue;
            }

            var at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            sb.Append(s, from, at - from).Append(replacement);
            from = at + old.Length;
        }

        return sb.Append(s, from, s.Length - from).ToString();
    }

    private static long Count(string s, string sub)
    {
        if (sub.Length == 0)
        {
            return s.Length + 1;
        }

        long n = 0;
        for (var at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    public static string Center(string s, int width, string fill)
    {
        if (width <= s.Length)
        {
            return s;
        }

        var total = width - s.Length;
        var left = (total / 2) + (total & width & 1);
        return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, total - left));
    }

    private static string Pad(string s, Arguments a, bool left, bool right)
    {
        var width = (int)Math.Min(Values.ToLong(a.Get(0, "width")), 1_000_000);
        var fill = a.Get(1, "fillchar", " ") as string ?? " ";
        if (left && right)
        {
            return Center(s, width, fill);
        }

        var padding = string.Concat(Enumerable.Repeat(fill, Math.Max(0, width - s.Length)));
        return left ? padding + s : s + padding;
    }

    private static string ZFill(string s, int width)
    {
        if (width <= s.Length)
        {
            return s;
        }

        var sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
        return s[..sign] + new string('0', width - s.Length) + s[sign..];
    }

    private static PyTuple Partition(string s, string sep, bool fromEnd)
    {
        var at = fromEnd ? s.LastIndexOf(sep, StringComparison.Ordinal) : s.IndexOf(sep, StringComparison.Ordinal);
        if (at < 0)
        {
            return fromEnd ? new PyTuple([string.Empty, string.Empty, s]) : new PyTuple([s, string.Empty, string.Empty]);
        }

        return new PyTuple([s[..at], sep, s[(at + sep.Length)..]]);
    }
}
