namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The functions every template can call: jinja2's <c>range</c>, <c>namespace</c> and <c>dict</c>, and
/// transformers' <c>raise_exception</c> and <c>strftime_now</c>.</summary>
internal static class Globals
{
    /// <summary>jinja2's sandbox refuses ranges longer than this.</summary>
    private const long MaxRange = 100_000;

    public static void Define(Scope scope, TimeProvider time)
    {
        scope.Set("range", new BuiltinFunction("range", Range));
        scope.Set("namespace", new BuiltinFunction("namespace", MakeNamespace));
        scope.Set("dict", new BuiltinFunction("dict", a => a.Named.ToDictionary(p => p.Key, p => p.Value)));
        scope.Set("raise_exception", new BuiltinFunction("raise_exception", a => throw new ChatTemplateException(Repr.Str(a.Get(0, "message")))));
        scope.Set("strftime_now", new BuiltinFunction("strftime_now", a => Strftime.Format(time.GetLocalNow().DateTime, Repr.Str(a.Get(0, "format")))));
    }

    private static List<object?> Range(Arguments a)
    {
        var numbers = a.Positional.Select(p => Values.Normalize(p) is long or bool ? Values.ToLong(Values.Normalize(p)) : throw new ChatTemplateException($"'{Values.TypeName(p)}' object cannot be interpreted as an integer")).ToArray();
        var (start, stop, step) = numbers.Length switch
        {
            1 => (0L, numbers[0], 1L),
            2 => (numbers[0], numbers[1], 1L),
            3 => (numbers[0], numbers[1], numbers[2]),
            _ => throw new ChatTemplateException($"range expected 1 to 3 arguments, got {numbers.Length}"),
        };
        if (step == 0)
        {
            throw new ChatTemplateException("range() arg 3 must not be zero");
        }

        var result = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            if (result.Count >= MaxRange)
            {
                throw new ChatTemplateException($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
            }

            result.Add(i);
        }

        return result;
    }

    private static Namespace MakeNamespace(Arguments a)
    {
        var ns = new Namespace();
        foreach (var positional in a.Positional)
        {
            if (positional is IReadOnlyDictionary<string, object?> initial)
            {
                foreach (var (key, value) in initial)
                {
                    ns.Attributes[key] = value;
                }
            }
        }

        foreach (var (key, value) in a.Named)
        {
            ns.Attributes[key] = value;
        }

        return ns;
    }
}
