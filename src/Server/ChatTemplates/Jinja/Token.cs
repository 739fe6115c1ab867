namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>One lexical token; <see cref="Value"/> is the text for text, names and operators, the unescaped content
/// for strings and the literal for numbers.</summary>
internal readonly record struct Token(TokenKind Kind, string Value, int Line)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;

    public bool IsName(string value) => Is(TokenKind.Name, value);

    public bool IsOperator(string value) => Is(TokenKind.Operator, value);

    /// <summary>How jinja2 names the token in "unexpected ..." messages.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.End => "end of template",
        TokenKind.Text => "template data",
        TokenKind.String => "string",
        _ => Value,
    };
}
