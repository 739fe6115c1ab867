using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Walks a parsed template and writes its output; statements here, expressions in the other part.</summary>
internal sealed partial class Interpreter
{
    /// <summary>Bounds macro recursion so that a runaway template fails with a template error instead of
    /// overflowing the stack.</summary>
    private const int MaxCallDepth = 100;

    private const int MaxOutput = 50_000_000;

    private int _callDepth;

    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    public static string Render(IReadOnlyList<Stmt> template, Scope globals)
    {
        var output = new StringBuilder();
        new Interpreter().Execute(template, new Scope(globals), output);
        return output.ToString();
    }

    private Flow Execute(IReadOnlyList<Stmt> body, Scope scope, StringBuilder output)
    {
        foreach (var stmt in body)
        {
            var flow = stmt switch
            {
                TextStmt text => Write(output, text.Text),
                OutputStmt print => Write(output, Repr.Str(Evaluate(print.Value, scope))),
                IfStmt branch => ExecuteIf(branch, scope, output),
                ForStmt loop => ExecuteFor(loop, scope, output),
                SetStmt set => Assign(set.Target, Evaluate(set.Value, scope), scope),
                SetBlockStmt block => Assign(block.Target, ApplyFilters(block.Filters, Capture(block.Body, scope), scope), scope),
                MacroStmt macro => Define(macro, scope),
                FilterBlockStmt filter => Write(output, Repr.Str(ApplyFilters(filter.Filters, Capture(filter.Body, scope), scope))),
                GenerationStmt generation => Execute(generation.Body, new Scope(scope), output),
                BreakStmt => Flow.Break,
                ContinueStmt => Flow.Continue,
                _ => throw new ChatTemplateException($"unsupported statement {stmt.GetType().Name}"),
            };
            if (flow != Flow.Normal)
            {
                return flow;
            }
        }

        return Flow.Normal;
    }

    private static Flow Write(StringBuilder output, string text)
    {
        if (output.Length + text.Length > MaxOutput)
        {
            throw new ChatTemplateException("template output too long");
        }

        output.Append(text);
        return Flow.Normal;
    }

    private string Capture(IReadOnlyList<Stmt> body, Scope scope)
    {
        var output = new StringBuilder();
        Execute(body, scope, output);
        return output.ToString();
    }

    private object? ApplyFilters(IReadOnlyList<FilterCall> filters, object? value, Scope scope)
    {
        foreach (var filter in filters)
        {
            value = JinjaFilters.Apply(filter.Name, value, EvaluateArgs(filter.Args, scope));
        }

        return value;
    }

    private Flow ExecuteIf(IfStmt stmt, Scope scope, StringBuilder output)
    {
        foreach (var (condition, body) in stmt.Branches)
        {
            if (Values.IsTruthy(Evaluate(condition, scope)))
            {
                return Execute(body, scope, output);
            }
        }

        return Execute(stmt.Else, scope, output);
    }

    private Flow ExecuteFor(ForStmt stmt, Scope scope, StringBuilder output)
    {
        var items = Values.Iterate(Evaluate(stmt.Iterable, scope));
        if (stmt.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                var filterScope = new Scope(scope);
                Bind(stmt, item, filterScope);
                if (Values.IsTruthy(Evaluate(stmt.Filter, filterScope)))
                {
                    kept.Add(item);
                }
            }

            items = kept;
        }

        if (items.Count == 0)
        {
            return Execute(stmt.Else, scope, output);
        }

        var loop = new LoopObject(items);
        for (var i = 0; i < items.Count; i++)
        {
            var iteration = new Scope(scope);
            Bind(stmt, items[i], iteration);
            loop.Index0 = i;
            iteration.Set("loop", loop);
            if (Execute(stmt.Body, iteration, output) == Flow.Break)
            {
                break;
            }
        }

        return Flow.Normal;
    }

    private static void Bind(ForStmt stmt, object? item, Scope scope)
    {
        if (stmt.Unpack)
        {
            Unpack(stmt.Targets, item, scope);
        }
        else
        {
            scope.Set(stmt.Targets[0], Values.Normalize(item));
        }
    }

    private static void Unpack(IReadOnlyList<string> names, object? value, Scope scope)
    {
        var items = Values.Iterate(Values.Normalize(value));
        if (items.Count != names.Count)
        {
            throw new ChatTemplateException(items.Count > names.Count
                ? $"too many values to unpack (expected {names.Count})"
                : $"not enough values to unpack (expected {names.Count}, got {items.Count})");
        }

        for (var i = 0; i < names.Count; i++)
        {
            scope.Set(names[i], Values.Normalize(items[i]));
        }
    }

    private static Flow Assign(SetTarget target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameTarget name:
                scope.Set(name.Name, value);
                break;
            case TupleTarget tuple:
                Unpack(tuple.Names, value, scope);
                break;
            case AttributeTarget attribute:
                if (scope.Lookup(attribute.Namespace) is not Namespace ns)
                {
                    throw new ChatTemplateException("cannot assign attribute on non-namespace object");
                }

                ns.Attributes[attribute.Attribute] = value;
                break;
        }

        return Flow.Normal;
    }

    private static Flow Define(MacroStmt macro, Scope scope)
    {
        scope.Set(macro.Name, new Macro(macro, scope));
        return Flow.Normal;
    }

    private string CallMacro(Macro macro, Arguments args)
    {
        var definition = macro.Definition;
        var parameters = definition.Parameters;
        if (args.Positional.Count > parameters.Count)
        {
            throw new ChatTemplateException($"macro '{definition.Name}' takes not more than {parameters.Count} argument(s)");
        }

        foreach (var (name, _) in args.Named)
        {
            if (!parameters.Any(p => p.Name == name))
            {
                throw new ChatTemplateException($"macro '{definition.Name}' takes no keyword argument '{name}'");
            }
        }

        if (++_callDepth > MaxCallDepth)
        {
            throw new ChatTemplateException("maximum recursion depth exceeded");
        }

        try
        {
            var scope = new Scope(macro.Closure);
            for (var i = 0; i < parameters.Count; i++)
            {
                var parameter = parameters[i];
                var value = args.Has(i, parameter.Name) ? args.Get(i, parameter.Name)
                    : parameter.Default is not null ? Evaluate(parameter.Default, scope)
                    : Undefined.WithHint($"parameter '{parameter.Name}' was not provided");
                scope.Set(parameter.Name, value);
            }

            return Capture(definition.Body, scope);
        }
        finally
        {
            _callDepth--;
        }
    }
}
