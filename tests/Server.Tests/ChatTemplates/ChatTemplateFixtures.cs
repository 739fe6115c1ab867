using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Serving.Server.ChatTemplates;

namespace Serving.Server.Tests.ChatTemplates;

/// <summary>Locates the real chat templates in <c>shared/chat-templates</c> beside the repository (fails loudly when
/// they are missing, never skips) and reads the reference renderings generate.py wrote.</summary>
internal static class ChatTemplateFixtures
{
    private static readonly Lazy<string> TemplateDirectory = new(Find);

    /// <summary>The clock generate.py fixes: 2026-07-04 12:00:00, local time.</summary>
    public static readonly DateTimeOffset Now = new(2026, 7, 4, 12, 0, 0, TimeSpan.Zero);

    public static string Templates => TemplateDirectory.Value;

    public static string ReferencePath(string file) => Path.Combine(AppContext.BaseDirectory, "ChatTemplates", "Reference", file);

    /// <summary>A clock at <see cref="Now"/> whose local zone is UTC, so results do not depend on the machine.</summary>
    public static FakeTimeProvider Clock()
    {
        var clock = new FakeTimeProvider(Now);
        clock.SetLocalTimeZone(TimeZoneInfo.Utc);
        return clock;
    }

    public static string ReadTemplate(string file) => File.ReadAllText(Path.Combine(Templates, file));

    public static ChatTemplateInput Input(JsonElement input) => new()
    {
        Messages = ((IReadOnlyList<object?>)ToValue(input.GetProperty("messages"))!).Cast<IReadOnlyDictionary<string, object?>>().ToList(),
        AddGenerationPrompt = input.GetProperty("add_generation_prompt").GetBoolean(),
        BosToken = input.GetProperty("bos_token").GetString(),
        EosToken = input.GetProperty("eos_token").GetString(),
        Tools = ToValue(input.GetProperty("tools")) is IReadOnlyList<object?> tools ? tools.Cast<IReadOnlyDictionary<string, object?>>().ToList() : null,
        ExtraVariables = (IReadOnlyDictionary<string, object?>?)ToValue(input.GetProperty("extra")),
        TimeProvider = Clock(),
    };

    /// <summary>JSON as the plain .NET values the renderer takes; integers stay integers, as in Python's json.</summary>
    public static object? ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText().IndexOfAny(['.', 'e', 'E']) >= 0 ? element.GetDouble() : (object)element.GetInt64(),
        JsonValueKind.Array => element.EnumerateArray().Select(ToValue).ToList(),
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => ToValue(p.Value)),
        _ => throw new InvalidOperationException($"unexpected JSON {element.ValueKind}"),
    };

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "chat-templates");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"!!! FIXTURE MISSING (CI={Environment.GetEnvironmentVariable("CI")}): no shared/chat-templates above {AppContext.BaseDirectory}");
    }
}
