using Serving.Scheduler.Engine;

namespace Serving.Scheduler.Tests.Engine;

public sealed class StopStringMatcherTests
{
    [Fact]
    public void A_stop_string_spanning_pieces_is_found_and_not_emitted()
    {
        var matcher = new StopStringMatcher(["girl named"]);
        Assert.Equal(("Once upon a ", false), matcher.Add("Once upon a "));
        Assert.Equal(("little ", false), matcher.Add("little gi"));
        Assert.Equal((string.Empty, false), matcher.Add("rl na"));
        Assert.Equal((string.Empty, true), matcher.Add("med Lily"));
    }

    [Fact]
    public void Held_text_that_did_not_become_a_stop_is_released()
    {
        var matcher = new StopStringMatcher(["END", "###"]);
        Assert.Equal(("a", false), matcher.Add("a#"));
        Assert.Equal(("#b", false), matcher.Add("b"));
        Assert.Equal(("x", false), matcher.Add("xEN"));
        Assert.Equal("EN", matcher.Flush());
    }

    [Fact]
    public void The_earliest_stop_wins_and_text_before_it_is_kept()
    {
        var matcher = new StopStringMatcher(["cat", "a c"]);
        Assert.Equal(("I saw ", true), matcher.Add("I saw a cat"));
    }

    [Fact]
    public void Without_stop_strings_text_passes_through() =>
        Assert.Equal(("anything", false), new StopStringMatcher([]).Add("anything"));
}
