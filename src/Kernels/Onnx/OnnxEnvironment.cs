using Microsoft.ML.OnnxRuntime;

namespace Serving.Kernels.Onnx;

/// <summary>
/// The process-wide ONNX Runtime environment with one global intra-op thread pool whose threads do not spin.
/// Per-session pools spin after <c>Run</c> and steal the core from the next of ~45 segment sessions (measured 25–30×
/// slower), and spinning threads also slow our own worker pool between segments.
/// </summary>
internal static class OnnxEnvironment
{
    private static readonly Lock Gate = new();
    private static bool _created;

    /// <summary>Creates the environment on first use with <paramref name="threads"/> pool threads (the calling
    /// thread included). The environment is a process singleton: later runners share the first one's pool.</summary>
    public static void Ensure(int threads)
    {
        lock (Gate)
        {
            if (_created)
            {
                return;
            }

            if (OrtEnv.IsCreated)
            {
                throw new InvalidOperationException("ONNX Runtime's environment was created elsewhere without the global thread pool the segment sessions need");
            }

            using var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = threads,
                GlobalInterOpNumThreads = 1,
                GlobalSpinControl = false,
            };
            var options = new EnvironmentCreationOptions
            {
                logId = "serving",
                logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                threadOptions = threading,
            };
            _ = OrtEnv.CreateInstanceWithOptions(ref options);
            _created = true;
        }
    }
}
