using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Serving.Kernels.Formats;
using Serving.Kernels.Models;
using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Runner;
using Serving.Scheduler.Engine;
using Serving.Server.ChatTemplates;
using Serving.Server.Models.HuggingFace;

namespace Serving.Server.Hosting;

/// <summary>
/// Loads the model in the background (so <c>/health</c> answers while a large model loads and <c>/ready</c> says when
/// it is done), then runs the engine loop until the host stops. A model that fails to load stops the host with exit
/// code 1; an engine loop that fails marks the server failed so <c>/ready</c> turns 503.
/// </summary>
internal sealed partial class ModelHost : BackgroundService, IHostedLifecycleService
{
    private readonly ServingOptions _options;
    private readonly IMeterFactory _meters;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ModelHost> _logger;
    private readonly ILoggerFactory _loggers;
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(50);
    private volatile ServedModel? _model;
    private volatile int _state = (int)ServingState.Loading;

    public ModelHost(IOptions<ServingOptions> options, IMeterFactory meters, TimeProvider time, IHostApplicationLifetime lifetime, ILoggerFactory loggers)
    {
        _loggers = loggers;
        _logger = loggers.CreateLogger<ModelHost>();
        _options = options.Value;
        _meters = meters;
        _time = time;
        _lifetime = lifetime;
    }

    public ServingState State => (ServingState)_state;

    /// <summary>The loaded model; null until <see cref="State"/> first becomes <see cref="ServingState.Ready"/>.</summary>
    public ServedModel? Model => _model;

    /// <summary>Stops admitting requests (<c>/ready</c> and new requests get 503); running ones continue.</summary>
    public void Drain() => _state = (int)ServingState.Draining;

    /// <summary>
    /// The first step of shutdown (SIGTERM), before Kestrel stops: <c>/ready</c> and new requests turn 503, requests
    /// in flight get <see cref="ServingOptions.DrainTimeoutSeconds"/> to finish, and whatever is left is then aborted,
    /// so every stream ends cleanly (finish reason "abort") before connections close.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var model = _model;
        Drain();
        if (model is null)
        {
            return;
        }

        var engine = model.Engine;
        LogDraining(engine.Running + engine.Waiting, _options.DrainTimeoutSeconds);
        var started = _time.GetTimestamp();
        var budget = TimeSpan.FromSeconds(_options.DrainTimeoutSeconds);
        while (engine.Running + engine.Waiting > 0 && _time.GetElapsedTime(started) < budget && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(DrainPoll, _time, CancellationToken.None).ConfigureAwait(false);
        }

        var left = engine.Running + engine.Waiting;
        if (left > 0)
        {
            LogAbortingAfterDrain(left);
            engine.AbortAll();
            while (engine.Running + engine.Waiting > 0 && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(DrainPoll, _time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Dispose()
    {
        _model?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ServedModel served;
        try
        {
            var path = await ResolveAsync(stoppingToken).ConfigureAwait(false);
            served = await Task.Run(() => Load(path), stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is ArgumentException or IOException or ModelFormatException or NotSupportedException or InvalidOperationException or UnauthorizedAccessException)
        {
            LogLoadFailed(e.Message);
            _state = (int)ServingState.Failed;
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
            return;
        }

        _model = served;
        _state = (int)ServingState.Ready;
        LogReady(served.Name, served.MaxModelLen, served.Engine.TotalBlocks * served.Runner.KvCache.BlockSize, served.Runner.KvCache.DataType);
        try
        {
            await Task.Factory.StartNew(() => served.Engine.RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .Unwrap().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _state = (int)ServingState.Failed;
            LogEngineFailed(e);
            served.Engine.FailAll();

            // The host stops on a failed background service; a non-zero exit tells the orchestrator to restart it.
            Environment.ExitCode = 1;
            throw;
        }
    }

    /// <summary>The local path of the model: <c>hf:</c> references are downloaded into the Hugging Face cache first
    /// (or found there); anything else is a local path and never touches the network.</summary>
    private async Task<string?> ResolveAsync(CancellationToken cancellationToken)
    {
        if (!HuggingFaceReference.IsReference(_options.Model))
        {
            return _options.Model;
        }

        var hub = HuggingFaceHubOptions.FromEnvironment();
        if (!string.IsNullOrEmpty(_options.HuggingFaceCache))
        {
            hub = hub with { CacheDirectory = _options.HuggingFaceCache };
        }

        using var http = HuggingFaceHubClient.CreateHttpClient();
        var downloader = new HuggingFaceDownloader(http, hub, _loggers.CreateLogger<HuggingFaceDownloader>());
        return await downloader.ResolveAsync(_options.Model!, cancellationToken).ConfigureAwait(false);
    }

    private ServedModel Load(string? path)
    {
        var loaded = string.IsNullOrEmpty(path) ? DemoModel.Create() : ModelLoader.Load(path, _options.Tokenizer);
        try
        {
            if (string.IsNullOrEmpty(_options.Model))
            {
                LogDemoModel(DemoModel.Name);
            }

            var name = _options.ServedModelName ?? DefaultName(_options.Model);
            var config = new EngineConfig
            {
                MaxSequences = _options.MaxNumSeqs,
                MaxBatchedTokens = _options.MaxNumBatchedTokens,
                MaxModelLength = _options.MaxModelLen,
            };
            var context = _options.MaxModelLen > 0 ? Math.Min(_options.MaxModelLen, loaded.Config.MaxPositions) : loaded.Config.MaxPositions;
            var kv = KvCacheSize(loaded.Config, context, KvCacheDataTypes.Resolve(_options.KvCacheDtype, loaded.Weights));
            var runner = new CpuModelRunner(
                loaded,
                kv,
                new CpuRunnerOptions { MaxTokensPerStep = _options.MaxNumBatchedTokens, MaxSequences = _options.MaxNumSeqs, Threads = _options.Threads });
            var engine = new LlmEngine(loaded, runner, config, _meters, _time);
            return new ServedModel(name, loaded, runner, engine, Template(loaded), _time.GetUtcNow().ToUnixTimeSeconds());
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>The <c>--chat-template</c> file when given, else the model's own template; a template that does not
    /// parse stops the load with the parser's message (line included) rather than failing every chat request.</summary>
    private ChatTemplate? Template(LoadedModel loaded)
    {
        var source = string.IsNullOrEmpty(_options.ChatTemplate) ? loaded.ChatTemplate : File.ReadAllText(_options.ChatTemplate);
        if (string.IsNullOrEmpty(source))
        {
            LogFallbackTemplate();
            return null;
        }

        try
        {
            return ChatTemplate.Parse(source);
        }
        catch (ChatTemplateSyntaxException e)
        {
            throw new InvalidOperationException($"the chat template does not parse: {e.Message}", e);
        }
    }

    private KvCacheConfig KvCacheSize(ModelConfig model, int context, KvCacheDataType dataType)
    {
        if (_options.KvCacheTokens > 0)
        {
            return KvCacheConfig.ForTokens(_options.KvCacheTokens, dataType: dataType);
        }

        if (_options.KvCacheMemoryBytes > 0)
        {
            return KvCacheConfig.ForMemory(_options.KvCacheMemoryBytes, model, dataType: dataType);
        }

        var wanted = KvCacheConfig.ForTokens((int)Math.Min((long)context * _options.MaxNumSeqs, int.MaxValue / 2), dataType: dataType);
        var cap = KvCacheConfig.ForMemory(1L << 30, model, dataType: dataType);
        return wanted.BlockCount <= cap.BlockCount ? wanted : cap;
    }

    private static string DefaultName(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            return DemoModel.Name;
        }

        var trimmed = model.TrimEnd('/', '\\');
        return Path.GetFileName(trimmed) is { Length: > 0 } file ? file : trimmed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No model given: serving the built-in demo model {Name} (random weights, output is noise). Set --model to a GGUF file, a Hugging Face directory or a llama2.c checkpoint")]
    private partial void LogDemoModel(string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: serving {Name} (max model length {MaxModelLen}, KV cache {KvTokens} tokens in {KvDataType})")]
    private partial void LogReady(string name, int maxModelLen, int kvTokens, KvCacheDataType kvDataType);

    [LoggerMessage(Level = LogLevel.Information, Message = "The model has no chat template: chat requests use the ChatML fallback")]
    private partial void LogFallbackTemplate();

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: {InFlight} requests in flight get up to {Seconds} s to finish; new requests get 503")]
    private partial void LogDraining(int inFlight, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain timeout: aborting {Left} requests still in flight")]
    private partial void LogAbortingAfterDrain(int left);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The model could not be loaded: {Reason}")]
    private partial void LogLoadFailed(string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The engine loop failed; the server no longer accepts requests")]
    private partial void LogEngineFailed(Exception exception);
}
