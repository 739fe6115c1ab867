using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using Serving.Server.ChatTemplates;

namespace Serving.Server.Tests.ChatTemplates;

/// <summary>Properties over random input: tojson escapes strings exactly as Python's json.dumps with
/// ensure_ascii off, and no template text, however broken, makes parsing or rendering throw anything but a
/// <see cref="ChatTemplateException"/>.</summary>
public sealed class PropertyTests
{
    private static readonly string[] Fragments =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "+%}", " ", "\n", "if", "elif", "else", "endif",
        "for", "in", "endfor", "set", "endset", "macro", "endmacro", "break", "continue", "not", "and", "or", "is",
        "defined", "none", "true", "x", "loop", "messages", "m", ".", ",", "(", ")", "[", "]", "{", "}", "|", "tojson",
        "length", "join", "'", "\"", "'s'", "1", "0", "2.5", "+", "-", "*", "/", "//", "%", "**", "~", "==", "<", ":",
        "=", "namespace", "range", "raise_exception", "items()", "content", "role", "[::-1]", "generation", "endgeneration",
    ];

    private static readonly Gen<string> TemplateText =
        Gen.OneOf(Fragments).Array[0, 40].Select(parts => string.Concat(parts));

    private static string PythonJsonString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    [Fact]
    public void Tojson_of_any_string_is_pythons_escaping()
    {
        var template = ChatTemplate.Parse("{{ s|tojson }}");
        Gen.String.Sample(s =>
        {
            var json = template.Render(new ChatTemplateInput { Messages = [], ExtraVariables = new Dictionary<string, object?> { ["s"] = s } });
            Assert.Equal(PythonJsonString(s), json);
            Assert.Equal(s, JsonSerializer.Deserialize<string>(json));
        }, iter: 2000);
    }

    [Fact]
    public void Garbage_templates_fail_only_with_template_exceptions()
    {
        var input = new ChatTemplateInput
        {
            Messages = [new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" }],
            ExtraVariables = new Dictionary<string, object?> { ["x"] = new List<object?> { 1L, "a", null } },
            TimeProvider = ChatTemplateFixtures.Clock(),
        };
        TemplateText.Sample(source =>
        {
            try
            {
                ChatTemplate.Parse(source).Render(input);
            }
            catch (ChatTemplateException)
            {
            }
        }, iter: 20000);
    }

    [Fact]
    public void Garbage_characters_fail_only_with_template_exceptions()
    {
        Gen.Char["{}%#-+ ()[]'\"|.,:=<>!~*/\\abxyz019\n\t_é"].Array[0, 60].Select(c => new string(c)).Sample(source =>
        {
            try
            {
                ChatTemplate.Parse(source).Render(new ChatTemplateInput { Messages = [] });
            }
            catch (ChatTemplateException)
            {
            }
        }, iter: 20000);
    }
}
