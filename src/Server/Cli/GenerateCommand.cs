using System.CommandLine;
using Serving.Kernels.Runner;
using Serving.Kernels.Sampling;
using Serving.Scheduler.Generation;

namespace Serving.Server.Cli;

/// <summary><c>serving generate</c>: prints only the generated text to stdout (logs go to stderr).</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "GGUF file, Hugging Face model directory, or llama2.c .bin checkpoint; omitted: the built-in demo model" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "llama2.c tok*.bin tokenizer (found automatically when one sits beside the checkpoint)" };
        var prompt = new Option<string?>("--prompt") { Description = "Prompt text; omitted: generation starts from BOS alone" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 is greedy", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Sample from the k most likely tokens (0: all)", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling probability mass", DefaultValueFactory = _ => 1f };
        var seed = new Option<ulong?>("--seed") { Description = "Random seed; the same seed gives the same text" };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating past end-of-sequence" };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (0: one per core)", DefaultValueFactory = _ => 0 };
        var kvType = KvCacheDtypeOption.Create();
        var verbose = new Option<bool>("--verbose") { Description = "Debug logging on stderr" };
        var command = new Command("generate", "Generate text from a prompt with one model")
        {
            model, tokenizer, prompt, maxTokens, temperature, topK, topP, seed, ignoreEos, threads, kvType, verbose,
        };
        command.SetAction(result =>
        {
            using var logging = CliLogging.Create(result.GetValue(verbose));
            var logger = logging.CreateLogger("generate");
            try
            {
                var sampling = new SamplingParams
                {
                    Temperature = result.GetValue(temperature),
                    TopK = result.GetValue(topK),
                    TopP = result.GetValue(topP),
                    Seed = result.GetValue(seed),
                };
                sampling.Validate();
                if (result.GetValue(maxTokens) < 0)
                {
                    throw new ArgumentException("--max-tokens must be >= 0");
                }

                var started = System.Diagnostics.Stopwatch.StartNew();
                using var loaded = ModelSource.Open(result.GetValue(model), result.GetValue(tokenizer), logger);
                var text = result.GetValue(prompt);
                List<int> ids = string.IsNullOrEmpty(text)
                    ? loaded.Tokenizer.BosId >= 0 ? [loaded.Tokenizer.BosId] : []
                    : [.. loaded.Tokenizer.Encode(text, addSpecialTokens: true)];
                if (ids.Count == 0)
                {
                    throw new ArgumentException("the model has no BOS token, so generation needs a --prompt");
                }

                var context = Math.Min(loaded.Config.MaxPositions, ids.Count + result.GetValue(maxTokens) + 1);
                var tokensPerStep = Math.Min(512, ids.Count);
                using var runner = new CpuModelRunner(
                    loaded,
                    KvCacheConfig.ForTokens(context, dataType: KvCacheDataTypes.Resolve(result.GetValue(kvType), loaded.Weights)),
                    new CpuRunnerOptions { MaxTokensPerStep = tokensPerStep, MaxSequences = 1, Threads = result.GetValue(threads) });
                logger.LogDebug("Runner ready after {Milliseconds} ms ({Threads} threads, KV pool {Megabytes:F1} MB)", started.ElapsedMilliseconds, runner.Threads, runner.KvCacheBytes / 1e6);
                var generator = new SingleSequenceGenerator(loaded, runner, tokensPerStep);
                using var stdout = Console.OpenStandardOutput();
                using var writer = new TokenTextWriter(loaded.Tokenizer, stdout, atStartOfText: string.IsNullOrEmpty(text));
                var request = new GenerationRequest
                {
                    PromptTokens = ids,
                    MaxTokens = result.GetValue(maxTokens),
                    Sampling = sampling,
                    IgnoreEos = result.GetValue(ignoreEos),
                };
                var first = true;
                var finish = generator.Generate(request, token =>
                {
                    if (first)
                    {
                        logger.LogDebug("First token after {Milliseconds} ms", started.ElapsedMilliseconds);
                        first = false;
                    }

                    writer.Write(token);
                });
                logger.LogDebug("Finished: {Reason}", finish);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or IOException or Kernels.Formats.ModelFormatException or NotSupportedException)
            {
                logger.LogError("{Message}", e.Message);
                return 1;
            }
        });
        return command;
    }
}
