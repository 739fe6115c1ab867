using System.Net;

namespace Serving.Server.Models.HuggingFace;

/// <summary>Retries Hub calls and transfers that failed for a reason that may pass: a dropped connection, a timeout, a
/// 5xx or 429 answer. Waits <see cref="HuggingFaceHubOptions.RetryDelay"/>, doubling, between tries; cancellation stops
/// it at once.</summary>
internal sealed class HubRetry(HuggingFaceHubOptions options, ILogger logger)
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="action"/> until it succeeds, fails for good, or runs out of tries.</summary>
    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        var attempts = Math.Max(1, options.MaxAttempts);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action(cancellationToken);
            }
            catch (Exception e) when (attempt < attempts && IsTransient(e, cancellationToken))
            {
                var delay = options.RetryDelay * Math.Pow(2, attempt - 1);
                delay = delay > MaxDelay ? MaxDelay : delay;
                logger.LogWarning("{What} failed ({Message}); try {Next} of {Attempts} in {Delay:F1} s", what, e.Message, attempt + 1, attempts, delay.TotalSeconds);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, cancellationToken);
                }
            }
        }
    }

    /// <summary>True when a retry may succeed; never for the caller's own cancellation.</summary>
    public static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HuggingFaceHubException hub => hub.IsTransient,
        HttpRequestException http => http.StatusCode is null or HttpStatusCode.TooManyRequests || (int)http.StatusCode >= 500,
        IOException => true,
        _ => false,
    };
}
