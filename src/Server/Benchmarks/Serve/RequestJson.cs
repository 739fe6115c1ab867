using System.Buffers;
using System.Text.Json;

namespace Serving.Server.Benchmarks.Serve;

/// <summary>Request bodies, written field by field so the wire format is explicit and needs no serializer
/// metadata.</summary>
internal static class RequestJson
{
    /// <summary>A streamed generation of exactly <paramref name="outputTokens"/> tokens (greedy, end of sequence
    /// ignored) with the usage chunk at the end, as vLLM's benchmark asks for it.</summary>
    public static byte[] Generation(ServeEndpoint endpoint, string model, BenchmarkPrompt prompt, int outputTokens) => Write(json =>
    {
        json.WriteString("model", model);
        if (endpoint == ServeEndpoint.Chat)
        {
            json.WriteStartArray("messages");
            WriteUserMessage(json, prompt.Message ?? throw new ArgumentException("a chat prompt needs a message", nameof(prompt)));
            json.WriteEndArray();
            json.WriteNumber("max_completion_tokens", outputTokens);
        }
        else
        {
            json.WriteStartArray("prompt");
            foreach (var id in prompt.TokenIds ?? throw new ArgumentException("a completions prompt needs token ids", nameof(prompt)))
            {
                json.WriteNumberValue(id);
            }

            json.WriteEndArray();
            json.WriteNumber("max_tokens", outputTokens);
        }

        json.WriteBoolean("ignore_eos", true);
        json.WriteNumber("temperature", 0);
        json.WriteBoolean("stream", true);
        json.WriteStartObject("stream_options");
        json.WriteBoolean("include_usage", true);
        json.WriteEndObject();
    });

    public static byte[] Tokenize(string model, string text) => Write(json =>
    {
        json.WriteString("model", model);
        json.WriteString("prompt", text);
        json.WriteBoolean("add_special_tokens", false);
    });

    /// <summary>The chat request's prompt as the server renders it (template, generation prompt and all).</summary>
    public static byte[] TokenizeChat(string model, string message) => Write(json =>
    {
        json.WriteString("model", model);
        json.WriteStartArray("messages");
        WriteUserMessage(json, message);
        json.WriteEndArray();
    });

    public static byte[] Detokenize(string model, IReadOnlyList<int> tokens) => Write(json =>
    {
        json.WriteString("model", model);
        json.WriteStartArray("tokens");
        foreach (var id in tokens)
        {
            json.WriteNumberValue(id);
        }

        json.WriteEndArray();
    });

    private static void WriteUserMessage(Utf8JsonWriter json, string message)
    {
        json.WriteStartObject();
        json.WriteString("role", "user");
        json.WriteString("content", message);
        json.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
