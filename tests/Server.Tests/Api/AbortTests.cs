using System.Text;

namespace Serving.Server.Tests.Api;

/// <summary>Clients that disconnect mid-stream abort their requests; the engine frees their KV blocks.</summary>
public sealed class AbortTests
{
    [Fact]
    public async Task SixteenStreamsCancelledMidway_FreeEveryKvBlock_WithoutErrorLogs()
    {
        await using var server = await TestServer.StartAsync();
        var engine = server.Host.Model!.Engine;
        const string body = """{"prompt":"Once upon a time","max_tokens":2000,"temperature":0.8,"ignore_eos":true,"stream":true}""";

        async Task StreamAndHangUpAsync()
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            var events = 0;
            while (events < 5 && await reader.ReadLineAsync(cancel.Token) is { } line)
            {
                events += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }

            Assert.Equal(5, events);
            await cancel.CancelAsync();
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => StreamAndHangUpAsync()));

        Assert.True(await TestServer.EventuallyAsync(() => engine.UsedBlocks == 0 && engine.Running == 0 && engine.Waiting == 0), $"blocks still used: {engine.UsedBlocks}, running {engine.Running}, waiting {engine.Waiting}");
        Assert.Empty(server.Errors);
    }
}
