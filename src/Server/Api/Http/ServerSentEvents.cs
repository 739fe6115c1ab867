using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Serving.Server.Api.Http;

/// <summary>Writes an OpenAI event stream: <c>data: {json}</c> events, flushed one by one, ended by
/// <c>data: [DONE]</c>.</summary>
internal static class ServerSentEvents
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public static Task StartAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        return context.Response.StartAsync(context.RequestAborted);
    }

    public static async Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        var body = context.Response.Body;
        await body.WriteAsync(Prefix, context.RequestAborted).ConfigureAwait(false);
        await JsonSerializer.SerializeAsync(body, value, type, context.RequestAborted).ConfigureAwait(false);
        await body.WriteAsync(Suffix, context.RequestAborted).ConfigureAwait(false);
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static async Task DoneAsync(HttpContext context)
    {
        await context.Response.Body.WriteAsync(Done, context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
