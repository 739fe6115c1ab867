using System.Text.Json;
using Serving.Kernels.Formats;

namespace Serving.Kernels.Tokenizers;

/// <summary>Reads a Hugging Face <c>tokenizer.json</c> (and optionally <c>tokenizer_config.json</c>) into a
/// <see cref="VocabularySpec"/>. Supported: model type BPE, either SentencePiece-style (a Metaspace pre-tokenizer
/// or a Prepend/Replace("▁") normalizer, usually with <c>byte_fallback</c>) or byte-level (a ByteLevel
/// pre-tokenizer, with the regex family taken from a Split pattern when the file has one).</summary>
/// <remarks>SentencePiece merges by piece score but these files carry merges by rank, so each piece's score is
/// minus the rank of the first merge that produces it. That reproduces the rank order because Hugging Face's
/// converter lists every split of every piece, ordered by the original scores. Pieces that no merge produces score
/// below every merged piece, so they are formed last; Hugging Face would never form them (only hand-made files
/// differ). Normalizers other than Prepend/Replace(▁), e.g. Qwen2's NFC, are not applied.</remarks>
public static class HuggingFaceTokenizerReader
{
    private const string Meta = "\u2581";

    /// <summary>Reads <paramref name="tokenizerJsonPath"/> and, when given, the tokenizer_config.json next to it.</summary>
    public static VocabularySpec Read(string tokenizerJsonPath, string? tokenizerConfigPath = null) =>
        Parse(File.ReadAllText(tokenizerJsonPath),
            tokenizerConfigPath is null ? null : File.ReadAllText(tokenizerConfigPath), tokenizerJsonPath);

    /// <summary>Parses the JSON texts; <paramref name="source"/> names the file in errors.</summary>
    /// <exception cref="ModelFormatException">Malformed JSON, or a tokenizer model this server does not run.</exception>
    public static VocabularySpec Parse(string tokenizerJson, string? tokenizerConfigJson, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(tokenizerJson);
            using var config = tokenizerConfigJson is null ? null : JsonDocument.Parse(tokenizerConfigJson);
            return Build(document.RootElement, config?.RootElement, source);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new ModelFormatException($"{source}: not a readable tokenizer.json ({ex.Message}).", ex);
        }
    }

    private static VocabularySpec Build(JsonElement root, JsonElement? config, string source)
    {
        var model = root.GetProperty("model");
        var modelType = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (modelType != "BPE")
        {
            throw new ModelFormatException($"{source}: tokenizer model '{modelType ?? "(none)"}' is not supported (only BPE).");
        }

        var steps = new List<JsonElement>();
        Flatten(root, "normalizer", "normalizers", steps);
        Flatten(root, "pre_tokenizer", "pretokenizers", steps);
        var sentencePiece = IsSentencePiece(steps, out var addSpacePrefix);
        var byteLevel = steps.Exists(static s => TypeOf(s) == "ByteLevel");
        if (!sentencePiece && !byteLevel)
        {
            throw new ModelFormatException($"{source}: BPE without a Metaspace or ByteLevel step is not supported.");
        }

        var kind = sentencePiece ? TokenizerKind.SentencePieceBpe : TokenizerKind.ByteLevelBpe;
        var byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        var (tokens, types) = ReadTokens(root, model, kind, byteFallback, source);
        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (var id = 0; id < tokens.Length; id++)
        {
            if (types[id] != TokenType.Unused)
            {
                ids.TryAdd(tokens[id], id);
            }
        }

        var merges = ReadMerges(model);
        var unknownId = model.TryGetProperty("unk_token", out var unk) && unk.GetString() is { } u ? ids.GetValueOrDefault(u, -1) : -1;
        if (unknownId >= 0)
        {
            types[unknownId] = TokenType.Unknown;
        }

        var (templateBos, templateEos) = ReadTemplate(root, ids);
        var bosId = TokenId(config, "bos_token", ids) ?? templateBos ?? (sentencePiece ? ids.GetValueOrDefault("<s>", -1) : -1);
        var eosId = TokenId(config, "eos_token", ids) ?? (sentencePiece ? ids.GetValueOrDefault("</s>", -1) : ids.GetValueOrDefault("<|endoftext|>", -1));
        return new VocabularySpec
        {
            Kind = kind,
            Tokens = tokens,
            Types = types,
            Scores = sentencePiece ? ScoresFromMerges(tokens, merges, ids) : null,
            Merges = sentencePiece ? null : merges,
            UnknownId = unknownId,
            BosId = bosId,
            EosId = eosId,
            AddBos = Flag(config, "add_bos_token") ?? (templateBos is not null || (sentencePiece && bosId >= 0)),
            AddEos = Flag(config, "add_eos_token") ?? templateEos is not null,
            AddSpacePrefix = sentencePiece && addSpacePrefix,
            PreTokenizer = sentencePiece ? null : PreTokenizerFamily(steps, source),
        };
    }

    private static (string[] Tokens, TokenType[] Types) ReadTokens(JsonElement root, JsonElement model, TokenizerKind kind,
        bool byteFallback, string source)
    {
        var entries = new List<(string Text, int Id, TokenType Type)>();
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            var isByte = kind == TokenizerKind.SentencePieceBpe && byteFallback && TokenTypeResolver.TryParseByteToken(entry.Name, out _);
            entries.Add((entry.Name, entry.Value.GetInt32(), isByte ? TokenType.Byte : TokenType.Normal));
        }

        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                var special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                entries.Add((token.GetProperty("content").GetString()!, token.GetProperty("id").GetInt32(),
                    special ? TokenType.Control : TokenType.UserDefined));
            }
        }

        var count = 0;
        foreach (var (_, id, _) in entries)
        {
            if (id < 0)
            {
                throw new ModelFormatException($"{source}: negative token id {id}.");
            }

            count = Math.Max(count, id + 1);
        }

        var tokens = new string[count];
        var types = new TokenType[count];
        Array.Fill(tokens, string.Empty);
        Array.Fill(types, TokenType.Unused);
        foreach (var (text, id, type) in entries)
        {
            tokens[id] = text;
            types[id] = type;
        }

        return (tokens, types);
    }

    private static List<string> ReadMerges(JsonElement model)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var list))
        {
            return merges;
        }

        foreach (var merge in list.EnumerateArray())
        {
            merges.Add(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!);
        }

        return merges;
    }

    private static float[] ScoresFromMerges(string[] tokens, List<string> merges, Dictionary<string, int> ids)
    {
        var scores = new float[tokens.Length];
        Array.Fill(scores, float.NaN);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var space = merges[rank].IndexOf(' ', StringComparison.Ordinal);
            var piece = string.Concat(merges[rank].AsSpan(0, space), merges[rank].AsSpan(space + 1));
            if (ids.TryGetValue(piece, out var id) && float.IsNaN(scores[id]))
            {
                scores[id] = -rank;
            }
        }

        for (var id = 0; id < scores.Length; id++)
        {
            scores[id] = float.IsNaN(scores[id]) ? -(merges.Count + id) : scores[id];
        }

        return scores;
    }

    private static void Flatten(JsonElement root, string name, string children, List<JsonElement> steps)
    {
        if (root.TryGetProperty(name, out var step) && step.ValueKind == JsonValueKind.Object)
        {
            FlattenStep(step, children, steps);
        }
    }

    private static void FlattenStep(JsonElement step, string children, List<JsonElement> steps)
    {
        if (TypeOf(step) == "Sequence" && step.TryGetProperty(children, out var list))
        {
            foreach (var child in list.EnumerateArray())
            {
                FlattenStep(child, children, steps);
            }
        }
        else
        {
            steps.Add(step);
        }
    }

    private static bool IsSentencePiece(List<JsonElement> steps, out bool addSpacePrefix)
    {
        var found = false;
        addSpacePrefix = false;
        foreach (var step in steps)
        {
            switch (TypeOf(step))
            {
                case "Prepend" when step.TryGetProperty("prepend", out var p) && p.GetString() == Meta:
                    found = addSpacePrefix = true;
                    break;
                case "Replace" when step.TryGetProperty("content", out var c) && c.GetString() == Meta:
                    found = true;
                    break;
                case "Metaspace":
                    found = true;
                    var scheme = step.TryGetProperty("prepend_scheme", out var s) ? s.GetString() : null;
                    var legacy = step.TryGetProperty("add_prefix_space", out var a) && a.ValueKind == JsonValueKind.True;
                    addSpacePrefix |= scheme is "first" or "always" || (scheme is null && legacy);
                    break;
            }
        }

        return found;
    }

    private static string PreTokenizerFamily(List<JsonElement> steps, string source)
    {
        foreach (var step in steps)
        {
            if (TypeOf(step) == "Split" && step.TryGetProperty("pattern", out var pattern)
                && pattern.TryGetProperty("Regex", out var regex) && regex.GetString() is { } text)
            {
                return PreTokenizerPatterns.FamilyOfPattern(text)
                    ?? throw new ModelFormatException($"{source}: pre-tokenizer pattern '{text}' is not a known family.");
            }
        }

        return "gpt2";
    }

    private static (int? Bos, int? Eos) ReadTemplate(JsonElement root, Dictionary<string, int> ids)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object
            || TypeOf(post) != "TemplateProcessing" || !post.TryGetProperty("single", out var single)
            || single.GetArrayLength() == 0)
        {
            return (null, null);
        }

        return (SpecialOf(single[0], ids), SpecialOf(single[single.GetArrayLength() - 1], ids));
    }

    private static int? SpecialOf(JsonElement piece, Dictionary<string, int> ids) =>
        piece.TryGetProperty("SpecialToken", out var special) && ids.TryGetValue(special.GetProperty("id").GetString()!, out var id)
            ? id : null;

    private static int? TokenId(JsonElement? config, string name, Dictionary<string, int> ids)
    {
        if (config is not { } c || !c.TryGetProperty(name, out var value))
        {
            return null;
        }

        var text = value.ValueKind == JsonValueKind.Object ? value.GetProperty("content").GetString() : value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return text is not null && ids.TryGetValue(text, out var id) ? id : null;
    }

    private static bool? Flag(JsonElement? config, string name) =>
        config is { } c && c.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean() : null;

    private static string? TypeOf(JsonElement step) =>
        step.ValueKind == JsonValueKind.Object && step.TryGetProperty("type", out var type) ? type.GetString() : null;
}
