namespace Serving.Server.Hosting;

/// <summary>
/// Settings of <c>serving serve</c>, bound from the <c>Serving</c> section of the configuration: appsettings.json,
/// then environment variables (<c>Serving__Port=8000</c>), then command-line options, each overriding the one before.
/// </summary>
internal sealed record ServingOptions
{
    /// <summary>Configuration section the options are bound from.</summary>
    public const string Section = "Serving";

    /// <summary>GGUF file, Hugging Face directory, llama2.c checkpoint, or <c>hf:owner/repo[/file]</c>; empty serves
    /// the built-in demo model.</summary>
    public string? Model { get; init; }

    /// <summary>llama2.c tokenizer file when it does not sit beside the checkpoint.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>A Jinja chat template file that replaces the model's own.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Address the HTTP API listens on.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>HTTP port (0 picks a free one and logs it).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>gRPC (h2c) port; null leaves gRPC off, 0 picks a free one.</summary>
    public int? GrpcPort { get; init; }

    /// <summary>Name clients pass as <c>model</c>; defaults to the model file or directory name.</summary>
    public string? ServedModelName { get; init; }

    /// <summary>Most tokens (prompt + output) per request; 0 uses the model's context length.</summary>
    public int MaxModelLen { get; init; }

    /// <summary>Most requests in one engine step.</summary>
    public int MaxNumSeqs { get; init; } = 32;

    /// <summary>Token budget of one engine step.</summary>
    public int MaxNumBatchedTokens { get; init; } = 512;

    /// <summary>KV cache size in tokens; 0 sizes it from <see cref="KvCacheMemoryBytes"/>, and when that is 0 too,
    /// to hold <see cref="MaxNumSeqs"/> full-length requests capped at 1 GiB.</summary>
    public int KvCacheTokens { get; init; }

    /// <summary>KV cache memory budget in bytes (used when <see cref="KvCacheTokens"/> is 0).</summary>
    public long KvCacheMemoryBytes { get; init; }

    /// <summary>Element type of the KV cache: <c>auto</c> (fp32 for fp32 models, fp16 for the rest), <c>f32</c> or
    /// <c>f16</c>.</summary>
    public string KvCacheDtype { get; init; } = "auto";

    /// <summary>Kernel threads; 0 is one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Accepted API keys (Bearer tokens); empty turns authentication off.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>Requests per minute allowed for each API key (or client address when keys are off); 0 is unlimited.</summary>
    public int RateLimitPerMinute { get; init; }

    /// <summary>Streaming requests one API key (or client address) may have open at once; 0 is unlimited.</summary>
    public int MaxConcurrentStreamsPerKey { get; init; }

    /// <summary>Largest request body in bytes; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Requests allowed to wait for admission; beyond that new ones get 429 with Retry-After.</summary>
    public int MaxWaitingRequests { get; init; } = 256;

    /// <summary>Most stop strings one request may give.</summary>
    public int MaxStopStrings { get; init; } = 64;

    /// <summary>Log format: <c>text</c> (human-readable) or <c>json</c> (compact JSON lines, for containers).</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>Debug-level logs.</summary>
    public bool Verbose { get; init; }

    /// <summary>Log prompts and generated text (off by default: they may hold personal data).</summary>
    public bool LogPrompts { get; init; }

    /// <summary>Seconds in-flight requests get to finish after SIGTERM before they are aborted.</summary>
    public int DrainTimeoutSeconds { get; init; } = 30;

    /// <summary>Where <c>hf:</c> models are cached; empty uses the Hugging Face default.</summary>
    public string? HuggingFaceCache { get; init; }
}
