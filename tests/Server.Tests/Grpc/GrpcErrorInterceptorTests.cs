using Grpc.Core;
using Microsoft.Extensions.Logging;
using Serving.Server.Api.Errors;
using Serving.Server.Grpc;

namespace Serving.Server.Tests.Grpc;

/// <summary>How <see cref="GrpcErrorInterceptor"/> turns what a handler throws into gRPC statuses.</summary>
public sealed class GrpcErrorInterceptorTests
{
    [Theory]
    [InlineData(400, StatusCode.InvalidArgument)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(404, StatusCode.NotFound)]
    [InlineData(413, StatusCode.ResourceExhausted)]
    [InlineData(429, StatusCode.ResourceExhausted)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Internal)]
    public async Task ApiExceptions_BecomeTheirStatus_WithTheirMessage(int status, StatusCode expected)
    {
        var logger = new ListLogger();

        var e = await Assert.ThrowsAsync<RpcException>(() => RunAsync(logger, new ApiException(status, "refused for a reason", "field", "some_code") { RetryAfterSeconds = 3 }, TestContext.Current.CancellationToken));

        Assert.Equal(expected, e.StatusCode);
        Assert.Equal("refused for a reason", e.Status.Detail);
        Assert.Equal("field", e.Trailers.GetValue("error-param"));
        Assert.Equal("some_code", e.Trailers.GetValue("error-code"));
        Assert.Equal("3", e.Trailers.GetValue("retry-after"));
        Assert.DoesNotContain(LogLevel.Error, logger.Levels);
    }

    [Fact]
    public async Task UnexpectedExceptions_AreInternal_WithAGenericMessage_AndLoggedAsErrors()
    {
        var logger = new ListLogger();

        var e = await Assert.ThrowsAsync<RpcException>(() => RunAsync(logger, new InvalidOperationException("secret internal detail"), TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Internal, e.StatusCode);
        Assert.DoesNotContain("secret", e.Status.Detail, StringComparison.Ordinal);
        Assert.Null(e.Status.DebugException);
        Assert.Contains(LogLevel.Error, logger.Levels);
    }

    [Fact]
    public async Task ACancelledCall_IsCancelled_AndNotAnError()
    {
        var logger = new ListLogger();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => RunAsync(logger, new OperationCanceledException(cancelled.Token), cancelled.Token));

        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.DoesNotContain(LogLevel.Error, logger.Levels);
    }

    private static Task<string> RunAsync(ListLogger logger, Exception thrown, CancellationToken callToken) =>
        new GrpcErrorInterceptor(logger).UnaryServerHandler<string, string>("request", new FakeServerCallContext(callToken), (_, _) => Task.FromException<string>(thrown));

    private sealed class ListLogger : ILogger<GrpcErrorInterceptor>
    {
        public List<LogLevel> Levels { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => Levels.Add(logLevel);
    }
}
