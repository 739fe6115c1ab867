using Serilog;
using Serilog.Events;

namespace Serving.Server.Cli;

/// <summary>Logging for command-line tools: Serilog writing everything to stderr, so stdout carries only the
/// command's output (generated text, benchmark results).</summary>
internal static class CliLogging
{
    public static ILoggerFactory Create(bool verbose)
    {
        var serilog = new LoggerConfiguration()
            .MinimumLevel.Is(verbose ? LogEventLevel.Debug : LogEventLevel.Information)
            .WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .CreateLogger();
        return LoggerFactory.Create(builder => builder.AddSerilog(serilog, dispose: true));
    }
}
