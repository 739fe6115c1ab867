using System.CommandLine;

namespace Serving.Server.Cli;

/// <summary>The <c>serving</c> command line: one subcommand per task (generate, model, bench, serve).</summary>
internal static class CommandLine
{
    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("serving: an LLM inference server and toolkit for Llama-family models");
        return root.Parse(args).InvokeAsync();
    }
}
