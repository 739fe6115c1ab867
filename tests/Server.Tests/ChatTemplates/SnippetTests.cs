using System.Text.Json;
using Serving.Server.ChatTemplates;

namespace Serving.Server.Tests.ChatTemplates;

/// <summary>Small templates that each probe one Jinja feature (whitespace control, scoping, filters, tests, Python
/// formatting of values, errors), compared with jinja2's output recorded by Reference/generate.py.</summary>
public sealed class SnippetTests
{
    private static readonly Lazy<JsonElement[]> Snippets = new(() =>
        JsonDocument.Parse(File.ReadAllText(ChatTemplateFixtures.ReferencePath("snippets.json"))).RootElement.GetProperty("snippets").EnumerateArray().ToArray());

    public static TheoryData<int> Indexes()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Snippets.Value.Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Indexes))]
    public void Renders_like_jinja2(int index)
    {
        var snippet = Snippets.Value[index];
        var source = snippet.GetProperty("source").GetString()!;
        var variables = (IReadOnlyDictionary<string, object?>)ChatTemplateFixtures.ToValue(snippet.GetProperty("variables"))!;
        ReferenceAssert.Matches(snippet, () => ChatTemplate.Parse(source).Render(new ChatTemplateInput
        {
            Messages = [],
            ExtraVariables = variables,
            TimeProvider = ChatTemplateFixtures.Clock(),
        }));
    }
}
