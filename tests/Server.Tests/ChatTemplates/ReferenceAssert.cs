using System.Text.Json;
using Serving.Server.ChatTemplates;

namespace Serving.Server.Tests.ChatTemplates;

/// <summary>Compares a rendering with what jinja2 produced: the same text, or the same kind of failure with the
/// same message (syntax errors: the same line).</summary>
internal static class ReferenceAssert
{
    public static void Matches(JsonElement expected, Func<string> render)
    {
        if (expected.TryGetProperty("expected", out var text))
        {
            Assert.Equal(text.GetString(), render());
            return;
        }

        var kind = expected.GetProperty("errorKind").GetString();
        var message = expected.GetProperty("error").GetString();
        if (kind == "syntax")
        {
            var syntax = Assert.Throws<ChatTemplateSyntaxException>(render);
            Assert.Equal(expected.GetProperty("line").GetInt32(), syntax.Line);
            return;
        }

        var error = Assert.ThrowsAny<ChatTemplateException>(render);
        Assert.IsNotType<ChatTemplateSyntaxException>(error);
        Assert.Equal(message, error.Message);
    }
}
