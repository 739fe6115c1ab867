using System.Globalization;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Recursive-descent parser with jinja2's grammar and operator precedence (filters and <c>is</c> tests bind
/// tighter than arithmetic, unary minus applies before filters, <c>for</c> iterables take no conditional
/// expression). Unknown filters and tests fail here, as jinja2 fails them when compiling.</summary>
internal sealed class Parser
{
    private const int MaxDepth = 300;

    private static readonly string[] CompareOperators = ["==", "!=", "<", "<=", ">", ">="];

    private readonly List<Token> _tokens;
    private int _index;
    private int _depth;
    private int _loopDepth;

    private Parser(List<Token> tokens)
    {
        _tokens = tokens;
    }

    private Token Current => _tokens[_index];

    public static IReadOnlyList<Stmt> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var (body, _) = parser.ParseBody([], null);
        return body;
    }

    private Token Next() => _tokens[_index++];

    private ChatTemplateSyntaxException Fail(string message) => new(Current.Line, message);

    private Token Expect(TokenKind kind, string? value = null)
    {
        var token = Current;
        if (token.Kind != kind || (value is not null && token.Value != value))
        {
            var wanted = value ?? kind switch
            {
                TokenKind.Name => "name",
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VariableEnd => "end of print statement",
                _ => kind.ToString(),
            };
            throw token.Kind == TokenKind.End
                ? Fail($"unexpected end of template, expected '{wanted}'.")
                : Fail($"expected token '{wanted}', got '{token.Describe()}'");
        }

        _index++;
        return token;
    }

    private bool SkipIf(TokenKind kind, string value)
    {
        if (Current.Is(kind, value))
        {
            _index++;
            return true;
        }

        return false;
    }

    private (List<Stmt> Body, string? EndTag) ParseBody(string[] endTags, string? openTag)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Text:
                    _index++;
                    body.Add(new TextStmt(token.Value, token.Line));
                    break;
                case TokenKind.VariableBegin:
                    _index++;
                    body.Add(new OutputStmt(ParseTuple(withCondition: true), token.Line));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    _index++;
                    var name = Current;
                    if (name.Kind != TokenKind.Name)
                    {
                        throw Fail("tag name expected");
                    }

                    if (endTags.Contains(name.Value))
                    {
                        _index++;
                        return (body, name.Value);
                    }

                    body.Add(ParseStatement(endTags, openTag));
                    break;
                default:
                    if (endTags.Length > 0)
                    {
                        throw Fail($"Unexpected end of template. Jinja was looking for the following tags: {Describe(endTags)}. The innermost block that needs to be closed is '{openTag}'.");
                    }

                    return (body, null);
            }
        }
    }

    private static string Describe(string[] tags) => string.Join(" or ", tags.Select(t => $"'{t}'"));

    private Stmt ParseStatement(string[] endTags, string? openTag)
    {
        var token = Next();
        if (++_depth > MaxDepth)
        {
            throw Fail("template nested too deeply");
        }

        try
        {
            return token.Value switch
            {
                "if" => ParseIf(token.Line),
                "for" => ParseFor(token.Line),
                "set" => ParseSet(token.Line),
                "macro" => ParseMacro(token.Line),
                "filter" => ParseFilterBlock(token.Line),
                "generation" => ParseGeneration(token.Line),
                "break" or "continue" => ParseLoopControl(token),
                _ => throw UnknownTag(token, endTags, openTag),
            };
        }
        finally
        {
            _depth--;
        }
    }

    private static ChatTemplateSyntaxException UnknownTag(Token token, string[] endTags, string? openTag)
    {
        var message = $"Encountered unknown tag '{token.Value}'.";
        if (endTags.Length > 0)
        {
            message += $" Jinja was looking for the following tags: {Describe(endTags)}. The innermost block that needs to be closed is '{openTag}'.";
        }

        return new ChatTemplateSyntaxException(token.Line, message);
    }

    private IfStmt ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        var condition = ParseTuple(withCondition: false);
        while (true)
        {
            Expect(TokenKind.BlockEnd);
            var (body, end) = ParseBody(["elif", "else", "endif"], "if");
            branches.Add((condition, body));
            if (end == "elif")
            {
                condition = ParseTuple(withCondition: false);
                continue;
            }

            IReadOnlyList<Stmt> elseBody = [];
            if (end == "else")
            {
                Expect(TokenKind.BlockEnd);
                (elseBody, _) = ParseBody(["endif"], "if");
            }

            Expect(TokenKind.BlockEnd);
            return new IfStmt(branches, elseBody, line);
        }
    }

    private ForStmt ParseFor(int line)
    {
        var (targets, unpack) = ParseNames(allowParentheses: true);
        Expect(TokenKind.Name, "in");
        var iterable = ParseTuple(withCondition: false, endName: "recursive");
        Expr? filter = null;
        if (SkipIf(TokenKind.Name, "if"))
        {
            filter = ParseExpression();
        }

        if (Current.IsName("recursive"))
        {
            throw Fail("recursive loops are not supported");
        }

        Expect(TokenKind.BlockEnd);
        _loopDepth++;
        var (body, end) = ParseBody(["endfor", "else"], "for");
        _loopDepth--;
        IReadOnlyList<Stmt> elseBody = [];
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd);
            (elseBody, _) = ParseBody(["endfor"], "for");
        }

        Expect(TokenKind.BlockEnd);
        return new ForStmt(targets, unpack, iterable, filter, body, elseBody, line);
    }

    private (List<string> Names, bool Unpack) ParseNames(bool allowParentheses)
    {
        var parenthesised = allowParentheses && SkipIf(TokenKind.Operator, "(");
        var names = new List<string> { Expect(TokenKind.Name).Value };
        var unpack = parenthesised;
        while (SkipIf(TokenKind.Operator, ","))
        {
            unpack = true;
            if (Current.Kind != TokenKind.Name || Current.IsName("in"))
            {
                break;
            }

            names.Add(Expect(TokenKind.Name).Value);
        }

        if (parenthesised)
        {
            Expect(TokenKind.Operator, ")");
        }

        return (names, unpack);
    }

    private Stmt ParseSet(int line)
    {
        SetTarget target;
        if (_tokens[_index + 1].IsOperator("."))
        {
            var ns = Expect(TokenKind.Name).Value;
            _index++;
            target = new AttributeTarget(ns, Expect(TokenKind.Name).Value);
        }
        else
        {
            var (names, unpack) = ParseNames(allowParentheses: true);
            target = unpack ? new TupleTarget(names) : new NameTarget(names[0]);
        }

        if (SkipIf(TokenKind.Operator, "="))
        {
            var value = ParseTuple(withCondition: true);
            Expect(TokenKind.BlockEnd);
            return new SetStmt(target, value, line);
        }

        var filters = ParseFilterChain();
        Expect(TokenKind.BlockEnd);
        var (body, _) = ParseBody(["endset"], "set");
        Expect(TokenKind.BlockEnd);
        return new SetBlockStmt(target, body, filters, line);
    }

    private List<FilterCall> ParseFilterChain()
    {
        var filters = new List<FilterCall>();
        while (SkipIf(TokenKind.Operator, "|"))
        {
            filters.Add(ParseFilterCall());
        }

        return filters;
    }

    private MacroStmt ParseMacro(int line)
    {
        var name = Expect(TokenKind.Name).Value;
        Expect(TokenKind.Operator, "(");
        var parameters = new List<MacroParameter>();
        while (!SkipIf(TokenKind.Operator, ")"))
        {
            if (parameters.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
                if (SkipIf(TokenKind.Operator, ")"))
                {
                    break;
                }
            }

            var parameter = Expect(TokenKind.Name).Value;
            Expr? fallback = null;
            if (SkipIf(TokenKind.Operator, "="))
            {
                fallback = ParseExpression();
            }
            else if (parameters.Count > 0 && parameters[^1].Default is not null)
            {
                throw Fail("non-default argument follows default argument");
            }

            parameters.Add(new MacroParameter(parameter, fallback));
        }

        Expect(TokenKind.BlockEnd);
        var saved = _loopDepth;
        _loopDepth = 0;
        var (body, _) = ParseBody(["endmacro"], "macro");
        _loopDepth = saved;
        SkipIf(TokenKind.Name, name);
        Expect(TokenKind.BlockEnd);
        return new MacroStmt(name, parameters, body, line);
    }

    private FilterBlockStmt ParseFilterBlock(int line)
    {
        var filters = new List<FilterCall> { ParseFilterCall() };
        filters.AddRange(ParseFilterChain());
        Expect(TokenKind.BlockEnd);
        var (body, _) = ParseBody(["endfilter"], "filter");
        Expect(TokenKind.BlockEnd);
        return new FilterBlockStmt(filters, body, line);
    }

    private GenerationStmt ParseGeneration(int line)
    {
        Expect(TokenKind.BlockEnd);
        var (body, _) = ParseBody(["endgeneration"], "generation");
        Expect(TokenKind.BlockEnd);
        return new GenerationStmt(body, line);
    }

    private Stmt ParseLoopControl(Token token)
    {
        if (_loopDepth == 0)
        {
            throw new ChatTemplateSyntaxException(token.Line, $"'{token.Value}' outside of a loop");
        }

        Expect(TokenKind.BlockEnd);
        return token.Value == "break" ? new BreakStmt(token.Line) : new ContinueStmt(token.Line);
    }

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
