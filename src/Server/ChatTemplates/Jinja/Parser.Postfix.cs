using System.Globalization;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>The postfix half of expressions: attribute and subscript access, calls with their arguments, filter
/// chains and <c>is</c> tests.</summary>
internal sealed partial class Parser
{
    private Expr ParsePostfix(Expr node)
    {
        var mark = _depth;
        while (true)
        {
            Enter();
            var token = Current;
            if (token.IsOperator("."))
            {
                _index++;
                var attribute = Next();
                node = attribute.Kind switch
                {
                    TokenKind.Name => new GetAttrExpr(node, attribute.Value, token.Line),
                    TokenKind.Integer => new GetItemExpr(node, new LiteralExpr(long.Parse(attribute.Value, CultureInfo.InvariantCulture), token.Line), token.Line),
                    _ => throw new ChatTemplateSyntaxException(attribute.Line, "expected name or number"),
                };
            }
            else if (token.IsOperator("["))
            {
                _index++;
                node = ParseSubscript(node, token.Line);
            }
            else if (token.IsOperator("("))
            {
                node = new CallExpr(node, ParseCallArgs(), token.Line);
            }
            else
            {
                _depth = mark;
                return node;
            }
        }
    }

    private Expr ParseSubscript(Expr node, int line)
    {
        Expr? start = null;
        if (!Current.IsOperator(":"))
        {
            start = ParseExpression();
            if (SkipIf(TokenKind.Operator, "]"))
            {
                return new GetItemExpr(node, start, line);
            }
        }

        Expect(TokenKind.Operator, ":");
        var stop = Current.IsOperator("]") || Current.IsOperator(":") ? null : ParseExpression();
        Expr? step = null;
        if (SkipIf(TokenKind.Operator, ":") && !Current.IsOperator("]"))
        {
            step = ParseExpression();
        }

        Expect(TokenKind.Operator, "]");
        return new SliceExpr(node, start, stop, step, line);
    }

    private CallArgs ParseCallArgs()
    {
        Expect(TokenKind.Operator, "(");
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        while (!SkipIf(TokenKind.Operator, ")"))
        {
            if (positional.Count + named.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
                if (SkipIf(TokenKind.Operator, ")"))
                {
                    break;
                }
            }

            if (Current.Kind == TokenKind.Name && _tokens[_index + 1].IsOperator("="))
            {
                var name = Next().Value;
                _index++;
                named.Add((name, ParseExpression()));
            }
            else
            {
                if (named.Count > 0)
                {
                    throw Fail("invalid syntax for function call expression");
                }

                positional.Add(ParseExpression());
            }
        }

        return new CallArgs(positional, named);
    }

    private Expr ParseFilterExpression(Expr node)
    {
        var mark = _depth;
        while (true)
        {
            Enter();
            var token = Current;
            if (token.IsOperator("|"))
            {
                _index++;
                node = new FilterExpr(node, ParseFilterCall(), token.Line);
            }
            else if (token.IsName("is"))
            {
                _index++;
                node = ParseTest(node, token.Line);
            }
            else if (token.IsOperator("("))
            {
                node = new CallExpr(node, ParseCallArgs(), token.Line);
            }
            else
            {
                _depth = mark;
                return node;
            }
        }
    }

    private FilterCall ParseFilterCall()
    {
        var token = Expect(TokenKind.Name);
        if (!JinjaFilters.Exists(token.Value))
        {
            throw new ChatTemplateSyntaxException(token.Line, $"No filter named '{token.Value}'.");
        }

        var args = Current.IsOperator("(") ? ParseCallArgs() : CallArgs.None;
        return new FilterCall(token.Value, args, token.Line);
    }

    private TestExpr ParseTest(Expr node, int line)
    {
        var negated = SkipIf(TokenKind.Name, "not");
        var token = Expect(TokenKind.Name);
        if (!JinjaTests.Exists(token.Value))
        {
            throw new ChatTemplateSyntaxException(token.Line, $"No test named '{token.Value}'.");
        }

        var args = CallArgs.None;
        var c = Current;
        if (c.IsOperator("("))
        {
            args = ParseCallArgs();
        }
        else if ((c.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                    || c.IsOperator("[") || c.IsOperator("{"))
                 && !c.IsName("else") && !c.IsName("or") && !c.IsName("and"))
        {
            if (c.IsName("is"))
            {
                throw Fail("You cannot chain multiple tests with is");
            }

            args = new CallArgs([ParsePostfix(ParsePrimary())], []);
        }

        return new TestExpr(node, token.Value, args, negated, line);
    }
}
