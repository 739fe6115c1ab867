using System.CommandLine;
using Serving.Kernels.Runner;

namespace Serving.Server.Cli;

/// <summary>The <c>--kv-cache-dtype</c> option shared by the commands that run a model.</summary>
internal static class KvCacheDtypeOption
{
    public static Option<string> Create() => new("--kv-cache-dtype")
    {
        Description = $"KV cache element type: {KvCacheDataTypes.Names} (auto: fp32 for fp32 models, else fp16)",
        DefaultValueFactory = _ => "auto",
    };
}
