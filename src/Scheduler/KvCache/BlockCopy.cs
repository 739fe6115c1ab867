namespace Serving.Scheduler.KvCache;

/// <summary>A copy-on-write the runner must perform before the step: the K/V of every layer in block
/// <paramref name="SourceBlockId"/> is copied to block <paramref name="DestinationBlockId"/>, which the writing
/// request now holds in its place.</summary>
/// <param name="SourceBlockId">The shared block the request held.</param>
/// <param name="DestinationBlockId">The request's private copy.</param>
public readonly record struct BlockCopy(int SourceBlockId, int DestinationBlockId);
