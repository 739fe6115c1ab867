namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python's arithmetic: bool counts as int, <c>/</c> always gives a float, <c>//</c> and <c>%</c> round
/// toward negative infinity, <c>+</c> and <c>*</c> also concatenate and repeat strings and lists.</summary>
internal static class Operators
{
    private const int MaxLength = 50_000_000;

    public static object? Binary(string op, object? a, object? b)
    {
        a = Values.Normalize(a);
        b = Values.Normalize(b);
        if (op == "~")
        {
            return Checked(Repr.Str(a) + Repr.Str(b));
        }

        if (a is Undefined ua)
        {
            throw ua.Error();
        }

        if (b is Undefined ub)
        {
            throw ub.Error();
        }

        if (Values.IsNumber(a) && Values.IsNumber(b))
        {
            return a is double || b is double || op is "/" ? Arithmetic(op, Values.ToDouble(a), Values.ToDouble(b)) : Arithmetic(op, Values.ToLong(a), Values.ToLong(b));
        }

        switch (op)
        {
            case "+" when a is string sa && b is string sb:
                return Checked(sa + sb);
            case "+" when a is IReadOnlyList<object?> la && b is IReadOnlyList<object?> lb && (a is PyTuple) == (b is PyTuple):
                return a is PyTuple ? new PyTuple([.. la, .. lb]) : (object)new List<object?>([.. la, .. lb]);
            case "+" when a is string:
                throw new ChatTemplateException($"can only concatenate str (not \"{Values.TypeName(b)}\") to str");
            case "+" when a is IReadOnlyList<object?> and not PyTuple:
                throw new ChatTemplateException($"can only concatenate list (not \"{Values.TypeName(b)}\") to list");
            case "*" when a is string or IReadOnlyList<object?> && b is long or bool:
                return Repeat(a, Values.ToLong(b));
            case "*" when b is string or IReadOnlyList<object?> && a is long or bool:
                return Repeat(b, Values.ToLong(a));
            case "%" when a is string format:
                return StringFormatting.Percent(format, b);
        }

        throw new ChatTemplateException($"unsupported operand type(s) for {op}: '{Values.TypeName(a)}' and '{Values.TypeName(b)}'");
    }

    private static string Checked(string s) => s.Length <= MaxLength ? s : throw new ChatTemplateException("string too long");

    private static object Repeat(object? sequence, long times)
    {
        times = Math.Max(0, times);
        if (sequence is string s)
        {
            if (s.Length * times > MaxLength)
            {
                throw new ChatTemplateException("string too long");
            }

            return string.Concat(Enumerable.Repeat(s, (int)times));
        }

        var list = (IReadOnlyList<object?>)sequence!;
        if (list.Count * times > MaxLength)
        {
            throw new ChatTemplateException("list too long");
        }

        var result = new List<object?>();
        for (var i = 0; i < times; i++)
        {
            result.AddRange(list);
        }

        return sequence is PyTuple ? new PyTuple([.. result]) : result;
    }

    private static object Arithmetic(string op, long a, long b)
    {
        try
        {
            return op switch
            {
                "+" => (object)checked(a + b),
                "-" => checked(a - b),
                "*" => checked(a * b),
                "//" => b == 0 ? throw DivisionByZero("integer division or modulo by zero") : FloorDiv(a, b),
                "%" => b == 0 ? throw DivisionByZero("integer modulo by zero") : a - (b * FloorDiv(a, b)),
                "**" => b < 0 ? Math.Pow(a, b) : (object)Power(a, b),
                _ => throw new ChatTemplateException($"unknown operator {op}"),
            };
        }
        catch (OverflowException)
        {
            throw new ChatTemplateException("integer overflow");
        }
    }

    private static long FloorDiv(long a, long b)
    {
        var q = a / b;
        return (a % b != 0) && ((a < 0) != (b < 0)) ? q - 1 : q;
    }

    private static long Power(long a, long b)
    {
        long result = 1;
        for (long i = 0; i < b; i++)
        {
            result = checked(result * a);
            if (result is 0 or 1)
            {
                break;
            }
        }

        return a == -1 ? (b % 2 == 0 ? 1 : -1) : result;
    }

    private static double Arithmetic(string op, double a, double b) => op switch
    {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "/" => b == 0 ? throw DivisionByZero("division by zero") : a / b,
        "//" => b == 0 ? throw DivisionByZero("float floor division by zero") : Math.Floor(a / b),
        "%" => b == 0 ? throw DivisionByZero("float modulo") : a - (b * Math.Floor(a / b)),
        "**" => Math.Pow(a, b),
        _ => throw new ChatTemplateException($"unknown operator {op}"),
    };

    private static ChatTemplateException DivisionByZero(string message) => new(message);

    public static object? Negate(object? value) => Values.Normalize(value) switch
    {
        double d => (object)(-d),
        long l => l == long.MinValue ? throw new ChatTemplateException("integer overflow") : -l,
        bool b => b ? -1L : 0L,
        Undefined u => throw u.Error(),
        var other => throw new ChatTemplateException($"bad operand type for unary -: '{Values.TypeName(other)}'"),
    };

    public static object? Plus(object? value) => Values.Normalize(value) switch
    {
        double or long => Values.Normalize(value),
        bool b => (object)(b ? 1L : 0L),
        Undefined u => throw u.Error(),
        var other => throw new ChatTemplateException($"bad operand type for unary +: '{Values.TypeName(other)}'"),
    };
}
