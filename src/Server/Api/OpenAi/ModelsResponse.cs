namespace Serving.Server.Api.OpenAi;

/// <summary><c>GET /v1/models</c>.</summary>
internal sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    public string Object { get; } = "list";
}

/// <summary>A served model.</summary>
internal sealed record ModelCard(string Id, long Created, string OwnedBy, int MaxModelLen)
{
    public string Object { get; } = "model";
}
