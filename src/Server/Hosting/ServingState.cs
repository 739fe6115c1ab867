namespace Serving.Server.Hosting;

/// <summary>Where the server stands: <c>/ready</c> answers 200 only in <see cref="Ready"/>.</summary>
internal enum ServingState
{
    Loading,
    Ready,
    Draining,
    Failed,
}
