using Serving.Kernels.Formats;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Tests.Engine;

/// <summary>Text out of the engine on the real stories260K model: streamed text equals the reference, and stop
/// strings end generation without being emitted, also when they span tokens.</summary>
public sealed class EngineTextTests
{
    private const string Reference = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    [Theory]
    [InlineData(new string[0], Reference, FinishReason.Length)]
    [InlineData(new[] { "little girl" }, "Once upon a time, there was a ", FinishReason.Stop)]
    [InlineData(new[] { "park", ". She" }, "Once upon a time, there was a little girl named Lily", FinishReason.Stop)]
    public async Task Streamed_text_matches_and_stops_at_stop_strings(string[] stops, string expected, FinishReason reason)
    {
        using var model = ModelLoader.Load(Fixtures.Stories260KGguf);
        using var harness = new EngineHarness(model, new EngineConfig(), 16);
        var handle = harness.Engine.Submit(new GenerationRequest { PromptTokens = [model.Tokenizer.BosId], MaxTokens = 31, StopStrings = stops });
        var text = new System.Text.StringBuilder();
        while (!handle.Completion.IsCompleted)
        {
            harness.Engine.Step();
            while (handle.Output.TryRead(out var piece))
            {
                text.Append(piece.Text);
            }
        }

        while (handle.Output.TryRead(out var last))
        {
            text.Append(last.Text);
        }

        Assert.Equal(expected, text.ToString());
        Assert.Equal(reason, await handle.Completion);
        Assert.Equal(0, harness.Engine.UsedBlocks);
    }
}
