namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The object <c>namespace(...)</c> returns: the one value a template may mutate, with
/// <c>{% set ns.attr = value %}</c>, so that loops can carry state out of their scope.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}
