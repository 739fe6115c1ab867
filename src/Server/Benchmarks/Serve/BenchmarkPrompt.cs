namespace Serving.Server.Benchmarks.Serve;

/// <summary>One request's input: token ids for completions, or a user message for chat, and how many prompt tokens
/// the server counts for it.</summary>
internal sealed record BenchmarkPrompt(IReadOnlyList<int>? TokenIds, string? Message, int PromptTokens);
