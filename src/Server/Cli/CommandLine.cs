using System.CommandLine;

namespace Serving.Server.Cli;

/// <summary>The <c>serving</c> command line: one subcommand per task. Scripts depend on these names and options.</summary>
internal static class CommandLine
{
    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("serving: an LLM inference server and toolkit for Llama-family models")
        {
            GenerateCommand.Create(),
            ModelCommand.Create(),
            BenchCommand.Create(),
            ServeCommand.Create(),
        };
        return root.Parse(args).InvokeAsync();
    }
}
