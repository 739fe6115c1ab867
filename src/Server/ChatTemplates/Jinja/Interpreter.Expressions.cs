namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Expression evaluation.</summary>
internal sealed partial class Interpreter
{
    private object? Evaluate(Expr expr, Scope scope) => expr switch
    {
        LiteralExpr literal => literal.Value,
        NameExpr name => scope.Lookup(name.Name),
        ListExpr list => list.Items.Select(i => Evaluate(i, scope)).ToList(),
        TupleExpr tuple => new PyTuple([.. tuple.Items.Select(i => Evaluate(i, scope))]),
        DictExpr dict => EvaluateDict(dict, scope),
        GetAttrExpr attr => Members.GetAttribute(Evaluate(attr.Target, scope), attr.Name),
        GetItemExpr item => Members.GetItem(Evaluate(item.Target, scope), Evaluate(item.Key, scope)),
        SliceExpr slice => Members.Slice(Evaluate(slice.Target, scope), EvaluateOptional(slice.Start, scope), EvaluateOptional(slice.Stop, scope), EvaluateOptional(slice.Step, scope)),
        CallExpr call => Call(Evaluate(call.Callee, scope), EvaluateArgs(call.Args, scope)),
        FilterExpr filter => JinjaFilters.Apply(filter.Filter.Name, Evaluate(filter.Value, scope), EvaluateArgs(filter.Filter.Args, scope)),
        TestExpr test => JinjaTests.Apply(test.Name, Evaluate(test.Value, scope), EvaluateArgs(test.Args, scope)) != test.Negated,
        UnaryExpr unary => unary.Operator switch
        {
            "not" => !Values.IsTruthy(Evaluate(unary.Operand, scope)),
            "-" => Operators.Negate(Evaluate(unary.Operand, scope)),
            _ => Operators.Plus(Evaluate(unary.Operand, scope)),
        },
        BinaryExpr binary => EvaluateBinary(binary, scope),
        CompareExpr compare => EvaluateCompare(compare, scope),
        ConditionalExpr conditional => Values.IsTruthy(Evaluate(conditional.Condition, scope))
            ? Evaluate(conditional.Body, scope)
            : conditional.Else is null
                ? Undefined.WithHint($"the inline if-expression on line {conditional.Line} evaluated to false and no else section was defined.")
                : Evaluate(conditional.Else, scope),
        _ => throw new ChatTemplateException($"unsupported expression {expr.GetType().Name}"),
    };

    private object? EvaluateOptional(Expr? expr, Scope scope) => expr is null ? null : Evaluate(expr, scope);

    private Dictionary<string, object?> EvaluateDict(DictExpr dict, Scope scope)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (keyExpr, valueExpr) in dict.Items)
        {
            var key = Evaluate(keyExpr, scope) as string ?? throw new ChatTemplateException("only string keys are supported in dict literals");
            result[key] = Evaluate(valueExpr, scope);
        }

        return result;
    }

    private Arguments EvaluateArgs(CallArgs args, Scope scope)
    {
        if (args.Positional.Count == 0 && args.Named.Count == 0)
        {
            return Arguments.Empty;
        }

        return new Arguments(
            args.Positional.Select(p => Evaluate(p, scope)).ToList(),
            args.Named.Select(n => new KeyValuePair<string, object?>(n.Name, Evaluate(n.Value, scope))).ToList());
    }

    private object? Call(object? callee, Arguments args) => callee switch
    {
        BuiltinFunction function => function.Invoke(args),
        Macro macro => CallMacro(macro, args),
        Undefined undefined => throw undefined.Error(),
        _ => throw new ChatTemplateException($"'{Values.TypeName(callee)}' object is not callable"),
    };

    private object? EvaluateBinary(BinaryExpr binary, Scope scope)
    {
        var left = Evaluate(binary.Left, scope);
        return binary.Operator switch
        {
            "and" => Values.IsTruthy(left) ? Evaluate(binary.Right, scope) : left,
            "or" => Values.IsTruthy(left) ? left : Evaluate(binary.Right, scope),
            var op => Operators.Binary(op, left, Evaluate(binary.Right, scope)),
        };
    }

    private bool EvaluateCompare(CompareExpr compare, Scope scope)
    {
        var left = Evaluate(compare.First, scope);
        foreach (var (op, operand) in compare.Rest)
        {
            var right = Evaluate(operand, scope);
            var holds = op switch
            {
                "==" => Values.AreEqual(left, right),
                "!=" => !Values.AreEqual(left, right),
                "<" => Values.Compare(left, right, op) < 0,
                "<=" => Values.Compare(left, right, op) <= 0,
                ">" => Values.Compare(left, right, op) > 0,
                ">=" => Values.Compare(left, right, op) >= 0,
                "in" => Values.Contains(right, left),
                _ => !Values.Contains(right, left),
            };
            if (!holds)
            {
                return false;
            }

            left = right;
        }

        return true;
    }
}
