using System.CommandLine;
using System.Globalization;
using Serving.Server.Hosting;

namespace Serving.Server.Cli;

/// <summary><c>serving serve</c>: the OpenAI-compatible HTTP API (and gRPC when a port is given). Every option can
/// also come from appsettings.json or from environment variables (<c>Serving__MaxNumSeqs=64</c>); the command line
/// wins.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Serve a model over the OpenAI-compatible HTTP API and gRPC");
        var verbose = new Option<bool>("--verbose") { Description = "Debug logging" };
        command.Add(verbose);
        var bindings = new List<Func<ParseResult, KeyValuePair<string, string?>?>>
        {
            Bind<string>(command, "--model", "Model", "GGUF file, Hugging Face directory, llama2.c .bin checkpoint or hf:owner/repo[/file]; omitted: the built-in demo model"),
            Bind<string>(command, "--tokenizer", "Tokenizer", "llama2.c tok*.bin tokenizer when it does not sit beside the checkpoint"),
            Bind<string>(command, "--chat-template", "ChatTemplate", "Jinja chat template file replacing the model's own"),
            Bind<string>(command, "--host", "Host", "Address to listen on (default 127.0.0.1; 0.0.0.0 for all)"),
            Bind<int>(command, "--port", "Port", "HTTP port (default 8000; 0 picks a free one)"),
            Bind<int>(command, "--grpc-port", "GrpcPort", "gRPC (h2c) port; omitted: no gRPC"),
            Bind<string>(command, "--served-model-name", "ServedModelName", "Model id clients pass as 'model' (default: the file or directory name)"),
            Bind<int>(command, "--max-model-len", "MaxModelLen", "Most tokens (prompt + output) per request (default: the model's context)"),
            Bind<int>(command, "--max-num-seqs", "MaxNumSeqs", "Most requests in one engine step (default 32)"),
            Bind<int>(command, "--max-num-batched-tokens", "MaxNumBatchedTokens", "Token budget of one engine step (default 512)"),
            Bind<int>(command, "--kv-cache-tokens", "KvCacheTokens", "KV cache size in tokens"),
            Bind<long>(command, "--kv-cache-memory", "KvCacheMemoryBytes", "KV cache memory budget in bytes (used when --kv-cache-tokens is not given)"),
            Bind<string>(command, "--kv-cache-dtype", "KvCacheDtype", "KV cache element type: auto (fp32 for fp32 models, else fp16), f32 or f16"),
            Bind<int>(command, "--threads", "Threads", "Kernel threads (default: one per core)"),
            Bind<int>(command, "--max-waiting-requests", "MaxWaitingRequests", "Requests that may wait for admission before new ones get 429 (default 256)"),
            Bind<int>(command, "--rate-limit-per-minute", "RateLimitPerMinute", "Requests per minute per API key (default: unlimited)"),
            Bind<int>(command, "--max-concurrent-streams-per-key", "MaxConcurrentStreamsPerKey", "Open streams per API key (default: unlimited)"),
            Bind<int>(command, "--drain-timeout", "DrainTimeoutSeconds", "Seconds in-flight requests get to finish after SIGTERM (default 30)"),
            Bind<string>(command, "--log-format", "LogFormat", "Log format: text or json (default text)"),
            Bind<long>(command, "--max-request-body-bytes", "MaxRequestBodyBytes", "Largest request body (default 4 MiB)"),
        };
        var apiKeys = new Option<string[]>("--api-key") { Description = "Accepted Bearer API key (repeat for several); omitted: no authentication", AllowMultipleArgumentsPerToken = false };
        command.Add(apiKeys);
        command.SetAction(async (result, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var bind in bindings)
            {
                if (bind(result) is { } pair)
                {
                    overrides[pair.Key] = pair.Value;
                }
            }

            if (result.GetValue(verbose))
            {
                overrides[$"{ServingOptions.Section}:Verbose"] = "true";
            }

            var keys = result.GetValue(apiKeys) ?? [];
            for (var i = 0; i < keys.Length; i++)
            {
                overrides[$"{ServingOptions.Section}:ApiKeys:{i}"] = keys[i];
            }

            try
            {
                var app = ServerApp.Build(overrides);
                await using (app.ConfigureAwait(false))
                {
                    await app.RunAsync().ConfigureAwait(false);
                }

                return Environment.ExitCode;
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"serving serve: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static Func<ParseResult, KeyValuePair<string, string?>?> Bind<T>(Command command, string name, string key, string description)
    {
        var option = new Option<T>(name) { Description = description };
        command.Add(option);
        return result => result.GetResult(option) is null
            ? null
            : new KeyValuePair<string, string?>($"{ServingOptions.Section}:{key}", Convert.ToString(result.GetValue(option), CultureInfo.InvariantCulture));
    }
}
