namespace Serving.Scheduler.Engine;

/// <summary>How the scheduler orders requests.</summary>
public enum SchedulingPolicy
{
    /// <summary>Arrival order: the oldest request is served first and the newest is preempted first.</summary>
    FirstComeFirstServed,

    /// <summary>By <see cref="Generation.GenerationRequest.Priority"/> (lower first), then arrival: the least
    /// important request waits longest and is preempted first.</summary>
    Priority,
}
