namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python's notion of whitespace, which adds the information separators U+001C..U+001F to .NET's.</summary>
internal static class PythonChars
{
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    public static string Strip(string s) => s[StripStart(s)..StripEnd(s)];

    public static int StripEnd(string s)
    {
        var end = s.Length;
        while (end > 0 && IsSpace(s[end - 1]))
        {
            end--;
        }

        return end;
    }

    public static int StripStart(string s)
    {
        var start = 0;
        while (start < s.Length && IsSpace(s[start]))
        {
            start++;
        }

        return start;
    }
}
