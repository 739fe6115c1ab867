using Serving.Kernels.Sampling;
using Serving.Kernels.Tensors;
using Serving.Scheduler.Engine;
using Serving.Scheduler.Generation;

namespace Serving.Scheduler.Tests.Engine;

public sealed class EngineBehaviourTests
{
    private static GenerationRequest Request(int promptLength, int maxTokens, int first = 10) => new()
    {
        PromptTokens = Enumerable.Range(first, promptLength).Select(t => 3 + (t % 1000)).ToList(),
        MaxTokens = maxTokens,
        IgnoreEos = true,
    };

    /// <summary>A 2,000-token prompt arriving while 8 requests decode is split into chunks that only take what the
    /// decoders leave of the budget: every step keeps all 8 decoding.</summary>
    [Fact]
    public void Chunked_prefill_never_stalls_decoding()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        var config = new EngineConfig { MaxBatchedTokens = 32, MaxSequences = 16 };
        using var harness = new EngineHarness(model, config, 256);
        var engine = harness.Engine;
        var decoders = Enumerable.Range(0, 8).Select(i => engine.Submit(Request(4, 200, i * 10))).ToArray();
        for (var i = 0; i < 3; i++)
        {
            engine.Step();
        }

        var prompt = engine.Submit(Request(2000, 5, 500));
        var prefillSteps = 0;
        while (engine.LastStep.Count == 0 || prefillSteps == 0 || engine.LastStep.GetValueOrDefault(prompt.Id) > 1)
        {
            Assert.True(engine.Step());
            Drain(decoders);
            if (engine.LastStep.TryGetValue(prompt.Id, out var chunk) && chunk > 1)
            {
                prefillSteps++;
                Assert.True(chunk <= config.MaxBatchedTokens - decoders.Length, $"prefill chunk {chunk} crowded out decoders");
                Assert.All(decoders, d => Assert.Equal(1, engine.LastStep[d.Id]));
            }

            Assert.True(prefillSteps < 200);
        }

        Assert.True(prefillSteps >= 2000 / config.MaxBatchedTokens, $"the prompt took only {prefillSteps} steps");
    }

    [Fact]
    public async Task Aborted_requests_free_their_blocks_and_end()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 64);
        var engine = harness.Engine;
        var handles = Enumerable.Range(0, 4).Select(i => engine.Submit(Request(40, 500, i * 50))).ToArray();
        for (var i = 0; i < 5; i++)
        {
            engine.Step();
            Drain(handles);
        }

        var used = engine.UsedBlocks;
        engine.Abort(handles[0].Id);
        engine.Abort(handles[2].Id);
        engine.Step();
        Drain(handles);
        Assert.Equal(FinishReason.Abort, await handles[0].Completion);
        Assert.Equal(FinishReason.Abort, await handles[2].Completion);
        Assert.True(handles[0].Output.Completion.IsCompleted);
        Assert.True(engine.UsedBlocks < used);
        Assert.Equal(2, engine.Running);

        engine.Abort(handles[1].Id);
        engine.Abort(handles[3].Id);
        engine.Abort(12345);
        engine.Step();
        Assert.Equal(0, engine.UsedBlocks);
        Assert.Equal(0, engine.Running + engine.Waiting);
    }

    [Fact]
    public async Task A_reader_that_stops_reading_pauses_only_its_request()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig { OutputCapacity = 4 }, 64);
        var engine = harness.Engine;
        var slow = engine.Submit(Request(8, 50));
        var fast = engine.Submit(Request(8, 50, 100));
        var fastTokens = 0;
        for (var i = 0; i < 20; i++)
        {
            engine.Step();
            while (fast.Output.TryRead(out var piece))
            {
                fastTokens += piece.TokenId >= 0 ? 1 : 0;
            }
        }

        Assert.Equal(4, slow.Output.Count);
        Assert.Equal(20, fastTokens);
        Assert.False(slow.Completion.IsCompleted);

        var read = 0;
        for (var i = 0; i < 200 && !slow.Completion.IsCompleted; i++)
        {
            engine.Step();
            while (slow.Output.TryRead(out var piece))
            {
                read += piece.TokenId >= 0 ? 1 : 0;
            }
        }

        Assert.Equal(FinishReason.Length, await slow.Completion);
        Assert.Equal(50, read);
    }

    [Fact]
    public void Requests_that_can_never_fit_are_refused_at_submission()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 8);
        var engine = harness.Engine;
        Assert.Contains("exceed the 128 tokens", Assert.Throws<ArgumentException>(() => engine.Submit(Request(100, 29))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => engine.Submit(Request(0, 5)));
        Assert.Throws<ArgumentException>(() => engine.Submit(Request(5, 0)));
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => engine.Submit(new GenerationRequest { PromptTokens = [1, 5000], MaxTokens = 3 })).Message, StringComparison.Ordinal);
        var fits = engine.Submit(Request(100, 28));
        Assert.Single(harness.Run([fits]));
    }

    [Fact]
    public async Task Background_loop_serves_requests_and_stops_on_cancellation()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 64);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => harness.Engine.RunAsync(stop.Token), TestContext.Current.CancellationToken);
        var handle = harness.Engine.Submit(Request(10, 12));
        var tokens = new List<int>();
        await foreach (var piece in handle.Output.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            if (piece.TokenId >= 0)
            {
                tokens.Add(piece.TokenId);
            }
        }

        Assert.Equal(12, tokens.Count);
        Assert.Equal(FinishReason.Length, await handle.Completion);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }

    [Fact]
    public async Task Min_tokens_holds_back_end_of_sequence()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 64);
        var eos = model.Tokenizer.EosId;
        var sampling = SamplingParams.Greedy with { LogitBias = new Dictionary<int, float> { [eos] = 100f } };
        var atOnce = harness.Engine.Submit(new GenerationRequest { PromptTokens = [1, 50, 60], MaxTokens = 20, Sampling = sampling });
        var held = harness.Engine.Submit(new GenerationRequest { PromptTokens = [1, 50, 60], MaxTokens = 20, MinTokens = 5, Sampling = sampling });
        var outputs = harness.Run([atOnce, held]);
        Assert.Equal(FinishReason.Stop, await atOnce.Completion);
        Assert.Empty(outputs[0]);
        Assert.Equal(FinishReason.Stop, await held.Completion);
        Assert.Equal(5, outputs[1].Count);
        Assert.DoesNotContain(eos, outputs[1]);
    }

    [Fact]
    public void Penalties_change_what_greedy_decoding_repeats()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 64);
        var favourite = new Dictionary<int, float> { [77] = 30f };
        var plain = harness.Engine.Submit(new GenerationRequest { PromptTokens = [1, 9], MaxTokens = 8, IgnoreEos = true, Sampling = SamplingParams.Greedy with { LogitBias = favourite } });
        var penalized = harness.Engine.Submit(new GenerationRequest { PromptTokens = [1, 9], MaxTokens = 8, IgnoreEos = true, Sampling = SamplingParams.Greedy with { LogitBias = favourite, FrequencyPenalty = 2f, RepetitionPenalty = 2f } });
        var outputs = harness.Run([plain, penalized]);
        Assert.All(outputs[0], t => Assert.Equal(77, t));
        Assert.True(outputs[1].Count(t => t == 77) < 8, "penalties should stop the favourite token repeating every step");
    }

    [Theory]
    [InlineData(SchedulingPolicy.FirstComeFirstServed, new[] { 0, 1, 2, 3 })]
    [InlineData(SchedulingPolicy.Priority, new[] { 2, 0, 3, 1 })]
    public void Policy_decides_who_is_served_first(SchedulingPolicy policy, int[] expectedOrder)
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig { MaxSequences = 1, Policy = policy }, 64);
        int[] priorities = [5, 7, 0, 5];
        var handles = priorities.Select((p, i) => harness.Engine.Submit(Request(4, 3, i * 10) with { Priority = p })).ToArray();
        var finished = new List<int>();
        while (finished.Count < handles.Length)
        {
            harness.Engine.Step();
            Drain(handles);
            for (var i = 0; i < handles.Length; i++)
            {
                if (handles[i].Completion.IsCompleted && !finished.Contains(i))
                {
                    finished.Add(i);
                }
            }
        }

        Assert.Equal(expectedOrder, finished);
    }

    [Fact]
    public void Under_memory_pressure_the_least_important_request_is_preempted()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig { Policy = SchedulingPolicy.Priority }, 6);
        var important = harness.Engine.Submit(Request(30, 40, 0) with { Priority = 0 });
        var minor = harness.Engine.Submit(Request(30, 40, 100) with { Priority = 9 });
        var firstFinished = -1;
        for (var step = 0; step < 500 && !(important.Completion.IsCompleted && minor.Completion.IsCompleted); step++)
        {
            harness.Engine.Step();
            Drain([important, minor]);
            if (firstFinished < 0 && (important.Completion.IsCompleted || minor.Completion.IsCompleted))
            {
                firstFinished = important.Completion.IsCompleted ? 0 : 1;
            }
        }

        Assert.True(harness.Engine.Preemptions > 0);
        Assert.Equal(0, firstFinished);
        Assert.True(minor.Completion.IsCompleted);
        Assert.Equal(0, harness.Engine.UsedBlocks);
    }

    [Fact]
    public void Parallel_samples_are_each_reproducible_and_share_the_prompt_blocks()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        var request = Request(40, 12) with { Sampling = new SamplingParams { Temperature = 1.2f, Seed = 77 } };
        List<int>[] Run(out long hits)
        {
            using var harness = new EngineHarness(model, new EngineConfig(), 64);
            var outputs = harness.Run(harness.Engine.SubmitSamples(request, 3));
            hits = harness.Engine.PrefixCacheHitTokens;
            return outputs;
        }

        var first = Run(out var hits);
        var second = Run(out _);
        Assert.Equal(first, second);
        Assert.Equal(3, first.Distinct(new SequenceComparer()).Count());
        Assert.True(hits > 0, "samples 2 and 3 should reuse the prompt blocks of sample 1");
    }

    [Fact]
    public void Logprobs_come_with_each_token_when_asked()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 64);
        var asked = harness.Engine.Submit(Request(6, 5) with { Sampling = SamplingParams.Greedy with { Logprobs = 3 } });
        var plain = harness.Engine.Submit(Request(6, 5));
        var pieces = new List<GeneratedPiece>();
        var plainPieces = new List<GeneratedPiece>();
        while (!asked.Completion.IsCompleted || !plain.Completion.IsCompleted)
        {
            harness.Engine.Step();
            while (asked.Output.TryRead(out var piece))
            {
                pieces.Add(piece);
            }

            while (plain.Output.TryRead(out var piece))
            {
                plainPieces.Add(piece);
            }
        }

        var tokens = pieces.Where(p => p.TokenId >= 0).ToArray();
        Assert.Equal(5, tokens.Length);
        Assert.All(tokens, p =>
        {
            Assert.NotNull(p.Logprobs);
            Assert.Equal(3, p.Logprobs.Top.Count);
            Assert.Equal(p.TokenId, p.Logprobs.Top[0].TokenId);
            Assert.Equal(p.Logprobs.Top[0].Logprob, p.Logprobs.Logprob);
            Assert.True(p.Logprobs.Logprob <= 0);
        });
        Assert.All(plainPieces, p => Assert.Null(p.Logprobs));
    }

    [Fact]
    public void Bad_sampling_options_are_refused_at_submission()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig(), 8);
        Assert.Throws<ArgumentException>(() => harness.Engine.Submit(Request(4, 5) with { MinTokens = 6 }));
        Assert.Contains("logit_bias", Assert.Throws<ArgumentException>(() => harness.Engine.Submit(Request(4, 5) with { Sampling = new SamplingParams { LogitBias = new Dictionary<int, float> { [99999] = 1f } } })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => harness.Engine.Submit(Request(4, 5) with { Sampling = new SamplingParams { PresencePenalty = 3f } }));
    }

    /// <summary>The background loop must resume a request paused on a full channel once its reader drains it, even
    /// though nothing else is submitted.</summary>
    [Fact]
    public async Task Background_loop_resumes_a_paused_request_when_its_reader_catches_up()
    {
        using var model = EngineHarness.Model(GgmlType.Q4_0);
        using var harness = new EngineHarness(model, new EngineConfig { OutputCapacity = 2 }, 64);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => harness.Engine.RunAsync(stop.Token), TestContext.Current.CancellationToken);
        var handle = harness.Engine.Submit(Request(6, 10));
        var count = 0;
        await foreach (var piece in handle.Output.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            count += piece.TokenId >= 0 ? 1 : 0;
        }

        Assert.Equal(10, count);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
    }

    private sealed class SequenceComparer : IEqualityComparer<List<int>>
    {
        public bool Equals(List<int>? x, List<int>? y) => x!.SequenceEqual(y!);

        public int GetHashCode(List<int> obj) => obj.Count;
    }

    private static void Drain(IEnumerable<RequestHandle> handles)
    {
        foreach (var handle in handles)
        {
            while (handle.Output.TryRead(out _))
            {
            }
        }
    }
}
