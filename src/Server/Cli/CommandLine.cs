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
        // The serve command's host handles SIGTERM/SIGINT itself (drain, then exit 0); System.CommandLine's own handler
        // would kill the process after its timeout, mid-drain.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
