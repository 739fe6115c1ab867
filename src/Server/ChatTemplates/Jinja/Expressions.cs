namespace Serving.Server.ChatTemplates.Jinja;

internal abstract record Expr(int Line);

internal sealed record LiteralExpr(object? Value, int Line) : Expr(Line);

internal sealed record NameExpr(string Name, int Line) : Expr(Line);

internal sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record TupleExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items, int Line) : Expr(Line);

internal sealed record GetAttrExpr(Expr Target, string Name, int Line) : Expr(Line);

internal sealed record GetItemExpr(Expr Target, Expr Key, int Line) : Expr(Line);

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

internal sealed record CallArgs(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Named)
{
    public static readonly CallArgs None = new([], []);
}

internal sealed record CallExpr(Expr Callee, CallArgs Args, int Line) : Expr(Line);

internal sealed record FilterCall(string Name, CallArgs Args, int Line);

internal sealed record FilterExpr(Expr Value, FilterCall Filter, int Line) : Expr(Line);

internal sealed record TestExpr(Expr Value, string Name, CallArgs Args, bool Negated, int Line) : Expr(Line);

internal sealed record UnaryExpr(string Operator, Expr Operand, int Line) : Expr(Line);

internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);

/// <summary>A chain such as <c>a &lt; b &lt;= c</c>, which Python evaluates pairwise with each operand once.</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest, int Line) : Expr(Line);

internal sealed record ConditionalExpr(Expr Body, Expr Condition, Expr? Else, int Line) : Expr(Line);
