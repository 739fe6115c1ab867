using System.Text.Json;
using Serving.Server.ChatTemplates;

namespace Serving.Server.Tests.ChatTemplates;

/// <summary>Every real template over every reference conversation renders exactly as transformers (jinja2) does;
/// the expectations come from Reference/generate.py.</summary>
public sealed class ReferenceCaseTests
{
    private static readonly Lazy<JsonElement[]> Cases = new(() =>
        JsonDocument.Parse(File.ReadAllText(ChatTemplateFixtures.ReferencePath("cases.json"))).RootElement.GetProperty("cases").EnumerateArray().ToArray());

    private static readonly Dictionary<string, ChatTemplate> Parsed = [];

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases.Value)
        {
            data.Add(c.GetProperty("template").GetString() + " | " + c.GetProperty("name").GetString());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Renders_like_transformers(string id)
    {
        var c = Cases.Value.Single(x => x.GetProperty("template").GetString() + " | " + x.GetProperty("name").GetString() == id);
        var template = Template(c.GetProperty("template").GetString()!);
        ReferenceAssert.Matches(c, () => template.Render(ChatTemplateFixtures.Input(c.GetProperty("input"))));
    }

    [Fact]
    public void Every_template_has_cases()
    {
        var files = Directory.GetFiles(ChatTemplateFixtures.Templates, "*.jinja").Select(Path.GetFileName).ToHashSet();
        var covered = Cases.Value.Select(c => c.GetProperty("template").GetString()).ToHashSet();
        Assert.Equal(12, files.Count);
        Assert.Subset(covered, files);
    }

    private static ChatTemplate Template(string file)
    {
        lock (Parsed)
        {
            if (!Parsed.TryGetValue(file, out var template))
            {
                template = ChatTemplate.Parse(ChatTemplateFixtures.ReadTemplate(file));
                Parsed[file] = template;
            }

            return template;
        }
    }
}
