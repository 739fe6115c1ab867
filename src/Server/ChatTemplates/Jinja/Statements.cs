namespace Serving.Server.ChatTemplates.Jinja;

internal abstract record Stmt(int Line);

internal sealed record TextStmt(string Text, int Line) : Stmt(Line);

internal sealed record OutputStmt(Expr Value, int Line) : Stmt(Line);

internal sealed record IfStmt(IReadOnlyList<(Expr Condition, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

/// <summary>A <c>for</c> loop; <see cref="Targets"/> holds one name, or several to unpack each item into.</summary>
internal sealed record ForStmt(IReadOnlyList<string> Targets, bool Unpack, Expr Iterable, Expr? Filter, IReadOnlyList<Stmt> Body, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

internal abstract record SetTarget;

internal sealed record NameTarget(string Name) : SetTarget;

internal sealed record TupleTarget(IReadOnlyList<string> Names) : SetTarget;

internal sealed record AttributeTarget(string Namespace, string Attribute) : SetTarget;

internal sealed record SetStmt(SetTarget Target, Expr Value, int Line) : Stmt(Line);

/// <summary><c>{% set name %}body{% endset %}</c>, optionally piped through filters.</summary>
internal sealed record SetBlockStmt(SetTarget Target, IReadOnlyList<Stmt> Body, IReadOnlyList<FilterCall> Filters, int Line) : Stmt(Line);

internal sealed record MacroParameter(string Name, Expr? Default);

internal sealed record MacroStmt(string Name, IReadOnlyList<MacroParameter> Parameters, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary><c>{% filter f %}body{% endfilter %}</c>: the rendered body goes through the filters.</summary>
internal sealed record FilterBlockStmt(IReadOnlyList<FilterCall> Filters, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary>transformers' <c>{% generation %}</c> block, which only marks assistant text; it renders its body in a
/// scope of its own, as the call block transformers compiles it to does.</summary>
internal sealed record GenerationStmt(IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

internal sealed record BreakStmt(int Line) : Stmt(Line);

internal sealed record ContinueStmt(int Line) : Stmt(Line);
