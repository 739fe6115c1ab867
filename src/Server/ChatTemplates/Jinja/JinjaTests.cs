namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>jinja2's built-in tests (<c>x is defined</c>, <c>x is divisibleby 3</c>, ...). Bool counts as a number
/// but not as an integer, and Undefined is iterable and a sequence, exactly as in jinja2.</summary>
internal static class JinjaTests
{
    private static readonly Dictionary<string, Func<object?, Arguments, bool>> All = new(StringComparer.Ordinal)
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["number"] = (v, _) => Values.IsNumber(v),
        ["string"] = (v, _) => v is string,
        ["mapping"] = (v, _) => v is IReadOnlyDictionary<string, object?>,
        ["iterable"] = (v, _) => Values.IsIterable(v),
        ["sequence"] = (v, _) => Values.IsIterable(v),
        ["callable"] = (v, _) => v is BuiltinFunction or Macro or Undefined,
        ["sameas"] = (v, a) => SameAs(v, Values.Normalize(a.Get(0, "other"))),
        ["escaped"] = (_, _) => false,
        ["odd"] = (v, _) => Values.AreEqual(Operators.Binary("%", v, 2L), 1L),
        ["even"] = (v, _) => Values.AreEqual(Operators.Binary("%", v, 2L), 0L),
        ["divisibleby"] = (v, a) => Values.AreEqual(Operators.Binary("%", v, a.Get(0, "num")), 0L),
        ["eq"] = (v, a) => Values.AreEqual(v, a.Get(0, "other")),
        ["ne"] = (v, a) => !Values.AreEqual(v, a.Get(0, "other")),
        ["lt"] = (v, a) => Values.Compare(v, a.Get(0, "other"), "<") < 0,
        ["le"] = (v, a) => Values.Compare(v, a.Get(0, "other"), "<=") <= 0,
        ["gt"] = (v, a) => Values.Compare(v, a.Get(0, "other"), ">") > 0,
        ["ge"] = (v, a) => Values.Compare(v, a.Get(0, "other"), ">=") >= 0,
        ["in"] = (v, a) => Values.Contains(a.Get(0, "seq"), v),
        ["lower"] = (v, _) => Repr.Str(v) is var s && s.Any(char.IsLower) && !s.Any(char.IsUpper),
        ["upper"] = (v, _) => Repr.Str(v) is var s && s.Any(char.IsUpper) && !s.Any(char.IsLower),
        ["filter"] = (v, _) => v is string name && JinjaFilters.Exists(name),
        ["test"] = (v, _) => v is string name && Exists(name),
    };

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["equalto"] = "eq",
        ["=="] = "eq",
        ["!="] = "ne",
        ["lessthan"] = "lt",
        ["<"] = "lt",
        ["<="] = "le",
        ["greaterthan"] = "gt",
        [">"] = "gt",
        [">="] = "ge",
    };

    public static bool Exists(string name) => All.ContainsKey(name) || Aliases.ContainsKey(name);

    public static bool Apply(string name, object? value, Arguments args)
    {
        if (!All.TryGetValue(Aliases.GetValueOrDefault(name, name), out var test))
        {
            throw new ChatTemplateException($"No test named '{name}'.");
        }

        return test(Values.Normalize(value), args);
    }

    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y && x is >= -5 and <= 256,
        _ => a is not null && ReferenceEquals(a, b),
    };
}
