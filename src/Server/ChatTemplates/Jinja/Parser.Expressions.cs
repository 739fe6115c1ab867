using System.Globalization;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The expression half of the parser: operators by precedence, primaries, postfix calls, subscripts,
/// filters and tests.</summary>
internal sealed partial class Parser
{
    private Expr ParseTuple(bool withCondition, string? endName = null, bool parenthesised = false)
    {
        var line = Current.Line;
        var items = new List<Expr>();
        var isTuple = false;
        while (true)
        {
            if (items.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
            }

            var c = Current;
            if (c.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd || c.IsOperator(")") || (endName is not null && c.IsName(endName)))
            {
                break;
            }

            items.Add(withCondition ? ParseExpression() : ParseOr());
            if (Current.IsOperator(","))
            {
                isTuple = true;
            }
            else
            {
                break;
            }
        }

        if (!isTuple)
        {
            if (items.Count == 1)
            {
                return items[0];
            }

            if (!parenthesised)
            {
                throw Fail($"Expected an expression, got '{Current.Describe()}'");
            }
        }

        return new TupleExpr(items, line);
    }

    private Expr ParseExpression()
    {
        if (++_depth > MaxDepth)
        {
            throw Fail("expression nested too deeply");
        }

        try
        {
            var line = Current.Line;
            var body = ParseOr();
            while (SkipIf(TokenKind.Name, "if"))
            {
                var condition = ParseOr();
                var otherwise = SkipIf(TokenKind.Name, "else") ? ParseExpression() : null;
                body = new ConditionalExpr(body, condition, otherwise, line);
            }

            return body;
        }
        finally
        {
            _depth--;
        }
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        var mark = _depth;
        while (Current.IsName("or"))
        {
            Enter();
            var line = Next().Line;
            left = new BinaryExpr("or", left, ParseAnd(), line);
        }

        _depth = mark;
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        var mark = _depth;
        while (Current.IsName("and"))
        {
            Enter();
            var line = Next().Line;
            left = new BinaryExpr("and", left, ParseNot(), line);
        }

        _depth = mark;
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            var line = Next().Line;
            Enter();
            try
            {
                return new UnaryExpr("not", ParseNot(), line);
            }
            finally
            {
                _depth--;
            }
        }

        return ParseCompare();
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw Fail("expression nested too deeply");
        }
    }

    private Expr ParseCompare()
    {
        var line = Current.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        var mark = _depth;
        while (true)
        {
            Enter();
            var c = Current;
            if (c.Kind == TokenKind.Operator && CompareOperators.Contains(c.Value))
            {
                _index++;
                rest.Add((c.Value, ParseMath1()));
            }
            else if (c.IsName("in"))
            {
                _index++;
                rest.Add(("in", ParseMath1()));
            }
            else if (c.IsName("not") && _tokens[_index + 1].IsName("in"))
            {
                _index += 2;
                rest.Add(("not in", ParseMath1()));
            }
            else
            {
                break;
            }
        }

        _depth = mark;
        return rest.Count == 0 ? first : new CompareExpr(first, rest, line);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        var mark = _depth;
        while (Current.IsOperator("+") || Current.IsOperator("-"))
        {
            Enter();
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParseConcat(), op.Line);
        }

        _depth = mark;
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMath2();
        var mark = _depth;
        while (Current.IsOperator("~"))
        {
            Enter();
            var op = Next();
            left = new BinaryExpr("~", left, ParseMath2(), op.Line);
        }

        _depth = mark;
        return left;
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        var mark = _depth;
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            Enter();
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParsePow(), op.Line);
        }

        _depth = mark;
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        var mark = _depth;
        while (Current.IsOperator("**"))
        {
            Enter();
            var op = Next();
            left = new BinaryExpr("**", left, ParseUnary(withFilter: true), op.Line);
        }

        _depth = mark;
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Enter();
        try
        {
            var token = Current;
            Expr node;
            if (token.IsOperator("-") || token.IsOperator("+"))
            {
                _index++;
                node = new UnaryExpr(token.Value, ParseUnary(withFilter: false), token.Line);
            }
            else
            {
                node = ParsePrimary();
            }

            node = ParsePostfix(node);
            return withFilter ? ParseFilterExpression(node) : node;
        }
        finally
        {
            _depth--;
        }
    }

    private Expr ParsePrimary()
    {
        var token = Next();
        switch (token.Kind)
        {
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, token.Line),
                    "false" or "False" => new LiteralExpr(false, token.Line),
                    "none" or "None" => new LiteralExpr(null, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TokenKind.String:
                var text = token.Value;
                while (Current.Kind == TokenKind.String)
                {
                    text += Next().Value;
                }

                return new LiteralExpr(text, token.Line);
            case TokenKind.Integer:
                if (!long.TryParse(token.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var integer))
                {
                    throw new ChatTemplateSyntaxException(token.Line, $"integer literal too large: {token.Value}");
                }

                return new LiteralExpr(integer, token.Line);
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(token.Value, NumberStyles.Float, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Operator when token.Value == "(":
                var inner = ParseTuple(withCondition: true, parenthesised: true);
                Expect(TokenKind.Operator, ")");
                return inner;
            case TokenKind.Operator when token.Value == "[":
                return new ListExpr(ParseItems("]"), token.Line);
            case TokenKind.Operator when token.Value == "{":
                return ParseDict(token.Line);
            default:
                _index--;
                throw Fail(token.Kind == TokenKind.Operator ? $"unexpected '{token.Value}'" : $"unexpected '{token.Describe()}'");
        }
    }

    private List<Expr> ParseItems(string close)
    {
        var items = new List<Expr>();
        while (!SkipIf(TokenKind.Operator, close))
        {
            if (items.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
                if (SkipIf(TokenKind.Operator, close))
                {
                    break;
                }
            }

            items.Add(ParseExpression());
        }

        return items;
    }

    private DictExpr ParseDict(int line)
    {
        var items = new List<(Expr, Expr)>();
        while (!SkipIf(TokenKind.Operator, "}"))
        {
            if (items.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
                if (SkipIf(TokenKind.Operator, "}"))
                {
                    break;
                }
            }

            var key = ParseExpression();
            Expect(TokenKind.Operator, ":");
            items.Add((key, ParseExpression()));
        }

        return new DictExpr(items, line);
    }
}
