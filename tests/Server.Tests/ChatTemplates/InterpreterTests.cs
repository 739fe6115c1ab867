using Serving.Server.ChatTemplates;

namespace Serving.Server.Tests.ChatTemplates;

/// <summary>The interpreter's pieces, with expectations taken from jinja2 3.1 (the reference snippets cover many
/// more).</summary>
public sealed class InterpreterTests
{
    private static string Render(string source, IReadOnlyDictionary<string, object?>? variables = null, IReadOnlyList<IReadOnlyDictionary<string, object?>>? messages = null) =>
        ChatTemplate.Parse(source).Render(new ChatTemplateInput
        {
            Messages = messages ?? [],
            ExtraVariables = variables,
            TimeProvider = ChatTemplateFixtures.Clock(),
        });

    [Theory]
    [InlineData("a  {{- 'b' -}}  c", "abc")]
    [InlineData("a\n{% if true %}\nb\n{% endif %}\nc", "a\nb\nc")]
    [InlineData("a\n    {% if true %}\nb\n    {% endif %}\nc", "a\nb\nc")]
    [InlineData("a\n    {%+ if true %}\nb\n{% endif %}", "a\n    b\n")]
    [InlineData("{% if true +%}\nb{% endif %}", "\nb")]
    [InlineData("  {{ 'x' }}\n", "  x")]
    [InlineData("a {# note #}\nb", "a b")]
    [InlineData("line\r\nnext\r\n", "line\nnext")]
    public void Whitespace_control_follows_trim_blocks_and_lstrip_blocks(string source, string expected) =>
        Assert.Equal(expected, Render(source));

    [Fact]
    public void Loop_variables()
    {
        var output = Render("{% for x in 'abc' %}{{ loop.index }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.previtem }}{{ loop.cycle('+', '-') }} {% endfor %}");
        Assert.Equal("12TrueFalse+ 21FalseFalsea- 30FalseTrueb+ ", output);
    }

    [Fact]
    public void Break_continue_and_else()
    {
        Assert.Equal("13", Render("{% for i in range(6) %}{% if i is even %}{% continue %}{% endif %}{% if i > 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"));
        Assert.Equal("none", Render("{% for i in [] %}{{ i }}{% else %}none{% endfor %}"));
    }

    [Fact]
    public void Set_in_a_loop_stays_in_the_loop_but_a_namespace_carries_out()
    {
        Assert.Equal("0", Render("{% set n = 0 %}{% for i in range(3) %}{% set n = n + i %}{% endfor %}{{ n }}"));
        Assert.Equal("3", Render("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"));
    }

    [Fact]
    public void Macros_take_defaults_and_keywords()
    {
        Assert.Equal("<a|2><b|3>", Render("{% macro tag(x, n=2) %}<{{ x }}|{{ n }}>{% endmacro %}{{ tag('a') }}{{ tag('b', n=3) }}"));
    }

    [Theory]
    [InlineData("{{ [3, 1, 2]|sort|join(',') }}", "1,2,3")]
    [InlineData("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|join('/') }}", "a/c")]
    [InlineData("{{ msgs|rejectattr('role', 'eq', 'user')|list|length }}", "1")]
    [InlineData("{{ '  x '|trim }}|{{ none|default('d') }}|{{ ''|default('e', true) }}", "x|None|e")]
    [InlineData("{{ {'b': 1, 'a': 'é'}|tojson }}", "{\"b\": 1, \"a\": \"é\"}")]
    [InlineData("{{ [1, 2.5]|tojson(indent=2) }}", "[\n  1,\n  2.5\n]")]
    [InlineData("{{ 'Hello World'|lower|title }}", "Hello World")]
    [InlineData("{{ 'a,b,c'.split(',')|last }}{{ 'x</think>y'.split('</think>')[-1] }}", "cy")]
    [InlineData("{{ 'abc'[::-1] }}{{ [1, 2, 3][1:]|list }}", "cba[2, 3]")]
    public void Filters_and_methods(string source, string expected)
    {
        var messages = new Dictionary<string, object?>
        {
            ["msgs"] = new List<object?>
            {
                new Dictionary<string, object?> { ["role"] = "user", ["content"] = "a" },
                new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = "b" },
                new Dictionary<string, object?> { ["role"] = "user", ["content"] = "c" },
            },
        };
        Assert.Equal(expected, Render(source, messages));
    }

    [Theory]
    [InlineData("{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}", "FalseTrueTrueTrueTrue")]
    [InlineData("{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 1 is integer }}{{ 1.5 is float }}{{ true is boolean }}", "TrueTrueTrueTrueTrueTrue")]
    [InlineData("{{ 2 is in [1, 2] }}{{ 'ab' is lower }}{{ 3 is gt 2 }}{{ 1 is number }}{{ [] is iterable }}{{ 'x' is sequence }}", "TrueTrueTrueTrueTrueTrue")]
    public void Tests(string source, string expected) => Assert.Equal(expected, Render(source));

    [Fact]
    public void Python_rendering_of_values()
    {
        Assert.Equal("None True False 1.0 0.5 1e-05 1e+16 [1, 'a', None] {'k': (1, 2)}",
            Render("{{ none }} {{ true }} {{ false }} {{ 1.0 }} {{ 1 / 2 }} {{ 0.00001 }} {{ 1e16 }} {{ [1, 'a', none] }} {{ {'k': (1, 2)} }}"));
        Assert.Equal("3 -4 2 ababab [1, 2]", Render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 'ab' * 3 }} {{ [1] + [2] }}"));
    }

    [Theory]
    [InlineData("{{ 0.5|round }} {{ 1.5|round }} {{ 2.5|round }} {{ -2.5|round }} {{ 1234|round(-2) }}", "0.0 2.0 2.0 -2.0 1200")]
    [InlineData("{{ 0.125|round(2) }} {{ 0.375|round(2) }} {{ 2.675|round(2) }} {{ 1.005|round(2) }} {{ 123.456789|round(2) }}", "0.12 0.38 2.67 1.0 123.46")]
    [InlineData("{{ '%.1f|%.2f|%.2f' % (0.125, 0.375, 2.675) }}", "0.1|0.38|2.67")]
    public void Rounding_is_pythons(string source, string expected) => Assert.Equal(expected, Render(source));

    [Fact]
    public void Caller_numbers_are_normalized()
    {
        Assert.Equal("3 2.5", Render("{{ i + 1 }} {{ f + 1 }}", new Dictionary<string, object?> { ["i"] = 2, ["f"] = 1.5f }));
    }

    [Fact]
    public void Undefined_renders_empty_is_falsy_and_iterates_empty()
    {
        Assert.Equal("|False|0|", Render("{{ nope }}|{{ nope is defined }}|{{ nope|length }}|{% for x in nope %}x{% endfor %}{% if nope %}y{% endif %}"));
        Assert.Equal(string.Empty, Render("{{ d.missing }}", new Dictionary<string, object?> { ["d"] = new Dictionary<string, object?>() }));
    }

    [Theory]
    [InlineData("{{ nope.attr }}", "'nope' is undefined")]
    [InlineData("{{ nope + 'x' }}", "'nope' is undefined")]
    [InlineData("{{ {}.a.b }}", "'dict object' has no attribute 'a'")]
    [InlineData("{{ [1][3].x }}", "list object has no element 3")]
    [InlineData("{{ 'a' + 1 }}", "can only concatenate str (not \"int\") to str")]
    [InlineData("{{ [1].append(2) }}", "access to attribute 'append' of 'list' object is unsafe.")]
    [InlineData("{{ 1 // 0 }}", "integer division or modulo by zero")]
    public void Runtime_errors_are_template_exceptions_with_jinja2_messages(string source, string message)
    {
        var error = Assert.Throws<ChatTemplateException>(() => Render(source));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Raise_exception_surfaces_the_template_message()
    {
        var gemma = ChatTemplate.Parse(ChatTemplateFixtures.ReadTemplate("google-gemma-2-2b-it.jinja"));
        var error = Assert.Throws<ChatTemplateException>(() => gemma.Render(new ChatTemplateInput
        {
            Messages =
            [
                new Dictionary<string, object?> { ["role"] = "system", ["content"] = "Be nice." },
                new Dictionary<string, object?> { ["role"] = "user", ["content"] = "Hi" },
            ],
            BosToken = "<bos>",
        }));
        Assert.Equal("System role not supported", error.Message);
    }

    [Theory]
    [InlineData("{% if x %}\nno end", 2)]
    [InlineData("a\nb\n{{ 1 + }}", 3)]
    [InlineData("{% for %}", 1)]
    [InlineData("x\n\n{{ y|nosuchfilter }}", 3)]
    [InlineData("{% endif %}", 1)]
    [InlineData("\n{{ 'open }}", 2)]
    [InlineData("{# never closed", 1)]
    [InlineData("{{ (1 }}", 1)]
    public void Syntax_errors_name_the_line(string source, int line)
    {
        var error = Assert.Throws<ChatTemplateSyntaxException>(() => ChatTemplate.Parse(source));
        Assert.Equal(line, error.Line);
        Assert.StartsWith($"line {line}: ", error.Message);
    }

    [Fact]
    public void Strftime_now_formats_the_providers_local_time()
    {
        Assert.Equal("04 Jul 2026 12:00", Render("{{ strftime_now('%d %b %Y %H:%M') }}"));
    }

    [Fact]
    public void Generation_blocks_render_their_body()
    {
        Assert.Equal("<a>hi</a>", Render("<a>{% generation %}{{ 'hi' }}{% endgeneration %}</a>"));
    }

    [Fact]
    public void Fallback_is_chatml()
    {
        var input = new ChatTemplateInput
        {
            Messages =
            [
                new Dictionary<string, object?> { ["role"] = "system", ["content"] = "S" },
                new Dictionary<string, object?> { ["role"] = "user", ["content"] = "U" },
            ],
            AddGenerationPrompt = true,
        };
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n", ChatTemplate.Fallback.Render(input));
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n", ChatTemplate.Fallback.Render(input with { AddGenerationPrompt = false }));
        Assert.Same(ChatTemplate.Fallback, ChatTemplate.Fallback);
        Assert.Contains("<|im_start|>", ChatTemplate.Fallback.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_parsed_template_renders_many_times_and_keeps_its_source()
    {
        const string source = "{% for m in messages %}{{ m.content }}{% endfor %}";
        var template = ChatTemplate.Parse(source);
        var input = new ChatTemplateInput { Messages = [new Dictionary<string, object?> { ["content"] = "x" }] };
        Assert.Equal("x", template.Render(input));
        Assert.Equal("x", template.Render(input));
        Assert.Equal(source, template.Source);
    }

    [Fact]
    public void Tools_null_is_none_and_tokens_null_are_undefined()
    {
        var output = ChatTemplate.Parse("{{ tools }}|{{ tools is none }}|{{ bos_token is defined }}|{{ eos_token }}").Render(new ChatTemplateInput { Messages = [], EosToken = "</s>" });
        Assert.Equal("None|True|False|</s>", output);
    }
}
