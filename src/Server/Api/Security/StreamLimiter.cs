using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Serving.Server.Api.Errors;
using Serving.Server.Hosting;

namespace Serving.Server.Api.Security;

/// <summary>Caps the streaming requests one client key has open at once (<see cref="ServingOptions.MaxConcurrentStreamsPerKey"/>).</summary>
internal sealed class StreamLimiter
{
    private readonly int _limit;
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    public StreamLimiter(IOptions<ServingOptions> options) => _limit = options.Value.MaxConcurrentStreamsPerKey;

    /// <summary>Takes a stream slot for the request's client until the lease is disposed; null when unlimited.</summary>
    /// <exception cref="ApiException">429 when the client has its limit of streams open.</exception>
    public IDisposable? Acquire(HttpContext context)
    {
        if (_limit <= 0)
        {
            return null;
        }

        var key = ClientKey.Get(context);
        var count = _open.AddOrUpdate(key, 1, (_, c) => c + 1);
        if (count > _limit)
        {
            Release(key);
            throw new ApiException(429, $"Too many concurrent streams for this API key (limit {_limit})", code: "too_many_streams", type: ErrorTypes.RateLimit) { RetryAfterSeconds = 1 };
        }

        return new Lease(this, key);
    }

    private void Release(string key)
    {
        var left = _open.AddOrUpdate(key, 0, (_, c) => c - 1);
        if (left <= 0)
        {
            _open.TryRemove(new KeyValuePair<string, int>(key, 0));
        }
    }

    private sealed class Lease(StreamLimiter owner, string key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(key);
            }
        }
    }
}
