namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>A callable value implemented in .NET: a global such as <c>range</c>, or a bound method such as
/// <c>'a b'.split</c>.</summary>
internal sealed record BuiltinFunction(string Name, Func<Arguments, object?> Invoke);
