using Grpc.Core;
using Serving.Contracts.V1;

namespace Serving.Server.Tests.Grpc;

/// <summary>serving.v1 over h2c with Grpc.Net.Client against the real server and the stories260K model.</summary>
public sealed class ServingServiceTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Generate_Greedy_FromAnEmptyTextPrompt_ReproducesTheReferenceText_WithExactUsage()
    {
        var messages = await GrpcCalls.GenerateAsync(fixture.Client, GrpcCalls.Text(string.Empty, 200));

        var usage = messages[^1].Usage;
        Assert.NotNull(usage);
        Assert.Equal(1, usage.PromptTokens);
        Assert.Equal(200, usage.CompletionTokens);
        var choice = messages.SkipLast(1).ToList();
        Assert.All(choice, m => Assert.Equal(0, m.Index));
        Assert.All(choice, m => Assert.Null(m.Usage));
        Assert.Equal(Fixtures.Reference200, string.Concat(choice.Select(m => m.Text)));
        Assert.Equal(200, choice.Sum(m => m.TokenIds.Count));
        Assert.Equal(FinishReason.Length, choice[^1].FinishReason);
        Assert.All(choice.SkipLast(1), m => Assert.Equal(FinishReason.Unspecified, m.FinishReason));
        Assert.True(choice.Count > 2, "tokens should arrive in more than one message");
    }

    [Fact]
    public async Task Complete_EqualsTheConcatenatedStream()
    {
        var request = GrpcCalls.Text("Once upon a time", 40);
        var streamed = await GrpcCalls.GenerateAsync(fixture.Client, request);
        var whole = await fixture.Client.CompleteAsync(request, cancellationToken: Ct);

        var choice = Assert.Single(whole.Choices);
        Assert.Equal(string.Concat(streamed.Select(m => m.Text)), choice.Text);
        Assert.Equal(streamed.SelectMany(m => m.TokenIds), choice.TokenIds);
        Assert.Equal(FinishReason.Length, choice.FinishReason);
        Assert.Equal(streamed[^1].Usage, whole.Usage);
        Assert.Equal(5, whole.Usage.PromptTokens);
        Assert.Equal(40, whole.Usage.CompletionTokens);
        Assert.Empty(choice.Logprobs);
    }

    [Fact]
    public async Task NEqualsThree_WithSeed_GivesThreeReproducibleSamples_StreamedOrNot()
    {
        var request = GrpcCalls.Text("Once upon a time", 30, temperature: 1f);
        request.N = 3;
        request.Seed = 1234;
        var first = await fixture.Client.CompleteAsync(request, cancellationToken: Ct);
        var second = await fixture.Client.CompleteAsync(request, cancellationToken: Ct);
        var streamed = await GrpcCalls.GenerateAsync(fixture.Client, request);

        string[] texts = [.. first.Choices.OrderBy(c => c.Index).Select(c => c.Text)];
        Assert.Equal(3, texts.Length);
        Assert.Equal(texts, second.Choices.OrderBy(c => c.Index).Select(c => c.Text));
        Assert.Equal(texts, Enumerable.Range(0, 3).Select(i => string.Concat(streamed.Where(m => m.Usage is null && m.Index == i).Select(m => m.Text))));
        Assert.True(texts.Distinct().Count() > 1, "three samples at temperature 1 should not all be equal");
        Assert.Equal(5, first.Usage.PromptTokens);
        Assert.Equal(90, first.Usage.CompletionTokens);
    }

    [Fact]
    public async Task Logprobs_GiveOneSaneEntryPerToken_WithTheGreedyTokenOnTop()
    {
        var request = GrpcCalls.Text("Once upon a time", 12);
        request.Logprobs = 3;
        var response = await fixture.Client.CompleteAsync(request, cancellationToken: Ct);

        var choice = Assert.Single(response.Choices);
        Assert.Equal(choice.TokenIds, choice.Logprobs.Select(l => l.TokenId));
        Assert.Equal(choice.Text, string.Concat(choice.Logprobs.Select(l => l.Token)));
        foreach (var entry in choice.Logprobs)
        {
            Assert.InRange(entry.Logprob, float.NegativeInfinity, 0f);
            Assert.Equal(3, entry.TopLogprobs.Count);
            Assert.Equal(entry.TokenId, entry.TopLogprobs[0].TokenId);
            Assert.Equal(entry.Logprob, entry.TopLogprobs[0].Logprob, 1e-5f);
            Assert.True(entry.TopLogprobs.Zip(entry.TopLogprobs.Skip(1)).All(p => p.First.Logprob >= p.Second.Logprob), "top logprobs are most likely first");
            Assert.All(entry.TopLogprobs, t => Assert.NotEmpty(t.Token));
        }
    }

    [Fact]
    public async Task TokenIdPrompt_EqualsTheTextPrompt_AndTokenizeGivesTheIds()
    {
        var tokens = await fixture.Client.TokenizeAsync(new TokenizeRequest { Text = "Once upon a time" }, cancellationToken: Ct);
        var withoutBos = await fixture.Client.TokenizeAsync(new TokenizeRequest { Text = "Once upon a time", AddSpecialTokens = false }, cancellationToken: Ct);

        Assert.Equal([1, 403, 407, 261, 378], tokens.TokenIds);
        Assert.Equal(5, tokens.Count);
        Assert.Equal([403, 407, 261, 378], withoutBos.TokenIds);
        Assert.True(tokens.MaxModelLen > 200);

        var fromText = await fixture.Client.CompleteAsync(GrpcCalls.Text("Once upon a time", 12), cancellationToken: Ct);
        var byIds = new GenerateRequest { TokenIds = new TokenIdsPrompt(), MaxTokens = 12, Temperature = 0f };
        byIds.TokenIds.Ids.AddRange(tokens.TokenIds);
        var fromIds = await fixture.Client.CompleteAsync(byIds, cancellationToken: Ct);
        Assert.Equal(fromText.Choices[0].Text, fromIds.Choices[0].Text);
    }

    [Fact]
    public async Task StopStrings_EndTheChoiceWithStop_AndAreNotPartOfTheText()
    {
        var request = GrpcCalls.Text(string.Empty, 200);
        request.Stop.Add("Lily");
        var response = await fixture.Client.CompleteAsync(request, cancellationToken: Ct);

        var choice = Assert.Single(response.Choices);
        Assert.Equal("Once upon a time, there was a little girl named ", choice.Text);
        Assert.Equal(FinishReason.Stop, choice.FinishReason);
    }

    [Fact]
    public async Task ListModels_GivesTheServedModel()
    {
        var response = await fixture.Client.ListModelsAsync(new ListModelsRequest(), cancellationToken: Ct);

        var model = Assert.Single(response.Models);
        Assert.Equal("stories260K.gguf", model.Id);
        Assert.True(model.Created > 0);
        Assert.True(model.MaxModelLen > 200);
    }

    [Fact]
    public async Task BadTemperature_IsInvalidArgument_NamingTheField()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.CompleteAsync(GrpcCalls.Text("Hi", 4, temperature: 3f), cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("temperature", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("temperature", e.Trailers.GetValue("error-param"));
    }

    [Fact]
    public async Task StreamingRefusals_AreStatusesToo()
    {
        var request = GrpcCalls.Text("Hi", 4);
        request.N = 0;

        var e = await Assert.ThrowsAsync<RpcException>(() => GrpcCalls.GenerateAsync(fixture.Client, request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("n must be in [1, 128]", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownModel_IsNotFound()
    {
        var request = GrpcCalls.Text("Hi", 4);
        request.Model = "gpt-nothing";

        var e = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.CompleteAsync(request, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("gpt-nothing", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromptTooLong_OrMissing_IsInvalidArgument()
    {
        var models = await fixture.Client.ListModelsAsync(new ListModelsRequest(), cancellationToken: Ct);
        var tooLong = new GenerateRequest { TokenIds = new TokenIdsPrompt(), MaxTokens = 4 };
        tooLong.TokenIds.Ids.AddRange(Enumerable.Repeat(1, models.Models[0].MaxModelLen));

        var e = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.CompleteAsync(tooLong, cancellationToken: Ct).ResponseAsync);
        var missing = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.CompleteAsync(new GenerateRequest { MaxTokens = 4 }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("maximum context length", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("context_length_exceeded", e.Trailers.GetValue("error-code"));
        Assert.Equal(StatusCode.InvalidArgument, missing.StatusCode);
        Assert.Contains("prompt", missing.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_AreNotLoggedAsErrors()
    {
        await Assert.ThrowsAsync<RpcException>(() => fixture.Client.CompleteAsync(GrpcCalls.Text("Hi", 4, temperature: -1f), cancellationToken: Ct).ResponseAsync);

        Assert.Empty(fixture.Server.Errors);
    }
}
