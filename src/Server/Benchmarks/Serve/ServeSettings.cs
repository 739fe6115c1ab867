namespace Serving.Server.Benchmarks.Serve;

/// <summary>The parameters of one <c>serving bench serve</c> run (<see cref="RequestRate"/> may be infinite;
/// <see cref="MaxConcurrency"/> null means unlimited; <see cref="Timeout"/> null means none).</summary>
internal sealed record ServeSettings(
    Uri BaseUrl,
    int NumPrompts,
    double RequestRate,
    int? MaxConcurrency,
    int InputLength,
    int OutputLength,
    ServeEndpoint Endpoint,
    string? Model,
    int Seed,
    string? ApiKey,
    ServiceLevelObjectives Objectives,
    TimeSpan? Timeout)
{
    public void Validate()
    {
        if (NumPrompts < 1 || InputLength < 1 || OutputLength < 1)
        {
            throw new ArgumentException("--num-prompts, --input-len and --output-len must be at least 1");
        }

        if (!(RequestRate > 0))
        {
            throw new ArgumentException("--request-rate must be a positive number or inf");
        }

        if (MaxConcurrency is < 1)
        {
            throw new ArgumentException("--max-concurrency must be at least 1");
        }

        if (Timeout is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentException("--timeout-seconds must be positive");
        }
    }
}
