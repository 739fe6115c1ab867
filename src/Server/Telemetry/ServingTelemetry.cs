using System.Diagnostics;

namespace Serving.Server.Telemetry;

/// <summary>Names of the server's telemetry sources, and the activity source its request spans use.</summary>
internal static class ServingTelemetry
{
    /// <summary>Meter of the GenAI and request-outcome instruments.</summary>
    public const string MeterName = "Serving.Server";

    /// <summary>Activity source of request events and GenAI span attributes.</summary>
    public const string ActivitySourceName = "Serving.Server";

    public static readonly ActivitySource Source = new(ActivitySourceName);
}
