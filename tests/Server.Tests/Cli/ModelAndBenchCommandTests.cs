namespace Serving.Server.Tests.Cli;

/// <summary><c>serving model create</c> and <c>serving bench latency</c> end to end on the small preset.</summary>
public sealed class ModelAndBenchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("serving-cli").FullName;

    [Theory]
    [InlineData("q4_0")]
    [InlineData("q8_0")]
    [InlineData("f16")]
    public async Task Created_model_loads_and_generates(string dtype)
    {
        var path = Path.Combine(_dir, $"tiny-{dtype}.gguf");
        var create = await ServingProcess.RunAsync("model", "create", "--preset", "tiny", "--dtype", dtype, "--seed", "7", "--out", path);
        Assert.True(create.ExitCode == 0, create.StdErr);
        Assert.True(new FileInfo(path).Length > 100_000);

        var first = await ServingProcess.RunAsync("generate", "--model", path, "--prompt", "the cat", "--max-tokens", "12", "--seed", "5", "--ignore-eos");
        var second = await ServingProcess.RunAsync("generate", "--model", path, "--prompt", "the cat", "--max-tokens", "12", "--seed", "5", "--ignore-eos");
        Assert.True(first.ExitCode == 0, first.StdErr);
        Assert.NotEmpty(first.StdOut);
        Assert.Equal(first.StdOut, second.StdOut);
    }

    [Fact]
    public async Task Same_seed_writes_identical_files()
    {
        var a = Path.Combine(_dir, "a.gguf");
        var b = Path.Combine(_dir, "b.gguf");
        Assert.Equal(0, (await ServingProcess.RunAsync("model", "create", "--preset", "tiny", "--dtype", "q4_0", "--seed", "3", "--out", a)).ExitCode);
        Assert.Equal(0, (await ServingProcess.RunAsync("model", "create", "--preset", "tiny", "--dtype", "q4_0", "--seed", "3", "--out", b)).ExitCode);
        Assert.Equal(
            await File.ReadAllBytesAsync(a, TestContext.Current.CancellationToken),
            await File.ReadAllBytesAsync(b, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("--preset", "gigantic", "--dtype", "q4_0", "unknown preset")]
    [InlineData("--preset", "tiny", "--dtype", "q3_k", "unknown --dtype")]
    [InlineData("--preset", "tiny", "--dtype", "q4_k", "Q4_K stores rows in blocks of 256 weights, but preset 'tiny' has rows of 128")]
    public async Task Bad_create_options_are_clear_errors(string o1, string v1, string o2, string v2, string message)
    {
        var result = await ServingProcess.RunAsync("model", "create", o1, v1, o2, v2, "--out", Path.Combine(_dir, "x.gguf"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_latency_reports_speeds_and_ceilings()
    {
        var path = Path.Combine(_dir, "tiny.gguf");
        Assert.Equal(0, (await ServingProcess.RunAsync("model", "create", "--preset", "tiny", "--dtype", "q4_0", "--out", path)).ExitCode);
        var result = await ServingProcess.RunAsync("bench", "latency", "--model", path, "--prompt-tokens", "64", "--gen-tokens", "16");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Matches(@"prompt: 64 tokens at [0-9.]+ tok/s \([0-9]+ ?% of the int8 compute ceiling", result.StdOut);
        Assert.Matches(@"decode: 16 tokens at [0-9.]+ tok/s \([0-9]+ ?% of the bandwidth roofline", result.StdOut);
        Assert.Matches(@"read bandwidth [0-9.]+ GB/s", result.StdOut);
        Assert.DoesNotContain("iteration", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_latency_repeats_its_measurement_and_adds_medians()
    {
        var result = await ServingProcess.RunAsync("bench", "latency", "--prompt-tokens", "32", "--gen-tokens", "8", "--iterations", "3");
        Assert.True(result.ExitCode == 0, result.StdErr);
        var lines = result.StdOut.Split('\n');
        Assert.Equal(["iteration 1 of 3:", "iteration 2 of 3:", "iteration 3 of 3:"], lines.Where(l => l.StartsWith("iteration", StringComparison.Ordinal)).Select(l => l.Trim()));
        Assert.Equal(3, lines.Count(l => l.StartsWith("decode: 8 tokens at", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(l => l.StartsWith("prompt: 32 tokens at", StringComparison.Ordinal)));
        Assert.Matches(@"median of 3 iterations: decode [0-9.]+ tok/s, [0-9]+ ?% of the bandwidth roofline \(iterations [0-9]+ ?% to [0-9]+ ?%\); prompt [0-9.]+ tok/s, [0-9]+ ?% of the int8 compute ceiling \(iterations [0-9]+ ?% to [0-9]+ ?%\)", result.StdOut);
        var bad = await ServingProcess.RunAsync("bench", "latency", "--iterations", "0");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--iterations must be at least 1", bad.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_kernels_reports_matrix_and_attention_rates_against_probes()
    {
        var result = await ServingProcess.RunAsync("bench", "kernels", "--layers", "1", "--rounds", "1", "--repeats", "1", "--tokens", "5", "--attention-context", "40", "--head-dim", "128", "--kv-heads", "8", "--kv-cache-dtype", "f32");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Matches(@"matmul q4_0 tokens=5: weights at [0-9.]+ GB/s mean, [0-9.]+ best \(read bandwidth [0-9.]+ GB/s: [0-9]+ ?% mean\); [0-9]+ Gop/s mean \(int8 rate [0-9]+ Gop/s", result.StdOut);
        Assert.Matches(@"attention F32 context=40 head-dim=128 kv-heads=8: [0-9.]+ ms per token over 22 layers", result.StdOut);
        var narrow = await ServingProcess.RunAsync("bench", "kernels", "--layers", "1", "--rounds", "1", "--repeats", "1", "--tokens", "8", "--attention-context", "0", "--narrow-kernels");
        Assert.True(narrow.ExitCode == 0, narrow.StdErr);
        Assert.Matches(@"matmul q4_0 tokens=8: weights at [0-9.]+ GB/s mean", narrow.StdOut);
        Assert.DoesNotContain("attention", narrow.StdOut, StringComparison.Ordinal);
        var bad = await ServingProcess.RunAsync("bench", "kernels", "--dtype", "q3_k");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--dtype must be q4_0, q8_0, q4_k, q5_k, q6_k or f16", bad.StdErr, StringComparison.Ordinal);
        var badHeads = await ServingProcess.RunAsync("bench", "kernels", "--kv-heads", "5");
        Assert.Equal(1, badHeads.ExitCode);
        Assert.Contains("--kv-heads a divisor of 32", badHeads.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_throughput_reports_rates_and_ceiling()
    {
        var result = await ServingProcess.RunAsync("bench", "throughput", "--num-prompts", "6", "--input-len", "8", "--output-len", "5", "--max-num-seqs", "3");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Matches(@"requests: 6 × \(8 in \+ 5 out\), at most 3 running", result.StdOut);
        Assert.Matches(@"throughput: [0-9.]+ req/s, [0-9.]+ output tok/s", result.StdOut);
        Assert.Matches(@"compute ceiling: [0-9.]+ tok/s \(int8 [0-9]+ Gop/s, median of the probes during the run, range [0-9]+–[0-9]+", result.StdOut);
        Assert.Matches(@"burst int8 rate before/after the run: [0-9]+ Gop/s", result.StdOut);
        var bad = await ServingProcess.RunAsync("bench", "throughput", "--max-num-seqs", "0");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("must be at least 1", bad.StdErr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
