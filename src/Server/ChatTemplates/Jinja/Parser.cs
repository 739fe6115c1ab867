namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Recursive-descent parser with jinja2's grammar and operator precedence (filters and <c>is</c> tests bind
/// tighter than arithmetic, unary minus applies before filters, <c>for</c> iterables take no conditional
/// expression). Unknown filters and tests fail here, as jinja2 fails them when compiling.</summary>
internal sealed partial class Parser
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
}
