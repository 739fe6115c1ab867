namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>A macro together with the scope it was defined in, which its body reads through.</summary>
internal sealed record Macro(MacroStmt Definition, Scope Closure);
