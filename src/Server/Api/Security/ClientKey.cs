namespace Serving.Server.Api.Security;

/// <summary>Who a request counts against for rate and stream limits: its API key when keys are on, else the client
/// address.</summary>
internal static class ClientKey
{
    private const string ItemName = "serving.client-key";

    public static void Set(HttpContext context, string key) => context.Items[ItemName] = key;

    public static string Get(HttpContext context) =>
        context.Items.TryGetValue(ItemName, out var key) && key is string value
            ? value
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
}
