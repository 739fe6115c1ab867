using Serving.Kernels.Formats;
using Serving.Kernels.Tokenizers;

namespace Serving.Kernels.Tests.Tokenizers;

public sealed class HuggingFaceTokenizerReaderTests
{
    private const string SentencePieceJson = """
        {
          "added_tokens": [
            { "id": 0, "content": "<unk>", "special": true },
            { "id": 1, "content": "<s>", "special": true },
            { "id": 2, "content": "</s>", "special": true }
          ],
          "normalizer": { "type": "Sequence", "normalizers": [
            { "type": "Prepend", "prepend": "▁" },
            { "type": "Replace", "pattern": { "String": " " }, "content": "▁" } ] },
          "pre_tokenizer": null,
          "post_processor": { "type": "TemplateProcessing",
            "single": [ { "SpecialToken": { "id": "<s>", "type_id": 0 } }, { "Sequence": { "id": "A", "type_id": 0 } } ] },
          "model": { "type": "BPE", "unk_token": "<unk>", "byte_fallback": true,
            "vocab": { "<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "b": 6, "▁a": 7, "ab": 8, "▁ab": 9 },
            "merges": MERGES }
        }
        """;

    private const string ByteLevelJson = """
        {
          "added_tokens": [ { "id": 6, "content": "<|begin_of_text|>", "special": true } ],
          "normalizer": null,
          "pre_tokenizer": { "type": "Sequence", "pretokenizers": [
            { "type": "Split", "pattern": { "Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, "behavior": "Isolated", "invert": false },
            { "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false } ] },
          "post_processor": { "type": "TemplateProcessing",
            "single": [ { "SpecialToken": { "id": "<|begin_of_text|>", "type_id": 0 } }, { "Sequence": { "id": "A", "type_id": 0 } } ] },
          "model": { "type": "BPE", "vocab": { "a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġa": 4, "Ġab": 5 },
            "merges": [ ["Ġ", "a"], ["a", "b"], ["Ġa", "b"] ] }
        }
        """;

    [Theory]
    [InlineData("""[ "▁ a", "a b", "▁a b" ]""")]
    [InlineData("""[ ["▁", "a"], ["a", "b"], ["▁a", "b"] ]""")]
    public void Reads_sentencepiece_style_bpe(string merges)
    {
        var spec = HuggingFaceTokenizerReader.Parse(SentencePieceJson.Replace("MERGES", merges, StringComparison.Ordinal), null, "sp.json");
        Assert.Equal(TokenizerKind.SentencePieceBpe, spec.Kind);
        Assert.Equal((0, 1, 2), (spec.UnknownId, spec.BosId, spec.EosId));
        Assert.True(spec.AddBos);
        Assert.True(spec.AddSpacePrefix);
        Assert.Equal(TokenType.Byte, spec.Types![3]);
        Assert.Equal(TokenType.Control, spec.Types[1]);
        Assert.Equal([0f, -1f, -2f], new[] { spec.Scores![7], spec.Scores[8], spec.Scores[9] });
        var tokenizer = TokenizerFactory.Create(spec);
        Assert.Equal([1, 9, 3], tokenizer.Encode("ab\n", addSpecialTokens: true));
        Assert.Equal([4, 6, 5, 2], tokenizer.Encode("ba</s>", addSpecialTokens: false));
        Assert.Equal("ab\n", tokenizer.Decode([1, 9, 3], skipSpecialTokens: true));
    }

    [Fact]
    public void Config_overrides_bos_and_eos_flags()
    {
        const string config = """{ "add_bos_token": false, "add_eos_token": true, "eos_token": { "content": "</s>" } }""";
        var spec = HuggingFaceTokenizerReader.Parse(
            SentencePieceJson.Replace("MERGES", """[ "▁ a", "a b", "▁a b" ]""", StringComparison.Ordinal), config, "sp.json");
        Assert.False(spec.AddBos);
        Assert.True(spec.AddEos);
        Assert.Equal([7, 2], TokenizerFactory.Create(spec).Encode("a", addSpecialTokens: true));
    }

    [Fact]
    public void Reads_byte_level_bpe_with_llama3_split()
    {
        var spec = HuggingFaceTokenizerReader.Parse(ByteLevelJson, null, "bl.json");
        Assert.Equal(TokenizerKind.ByteLevelBpe, spec.Kind);
        Assert.Equal("llama3", spec.PreTokenizer);
        Assert.Equal(6, spec.BosId);
        Assert.True(spec.AddBos);
        Assert.Equal(["Ġ a", "a b", "Ġa b"], spec.Merges!);
        var tokenizer = TokenizerFactory.Create(spec);
        Assert.Equal([6, 3, 5, 4], tokenizer.Encode("ab ab a", addSpecialTokens: true));
        Assert.Equal([3, 6, 0], tokenizer.Encode("ab<|begin_of_text|>a", addSpecialTokens: false));
        Assert.Equal("ab ab a", tokenizer.Decode([6, 3, 5, 4], skipSpecialTokens: true));
    }

    [Fact]
    public void Unsupported_model_is_a_format_error()
    {
        var error = Assert.Throws<ModelFormatException>(() =>
            HuggingFaceTokenizerReader.Parse("""{ "model": { "type": "WordPiece", "vocab": {} } }""", null, "wp.json"));
        Assert.Contains("WordPiece", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_is_a_format_error() =>
        Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizerReader.Parse("{ \"model\": ", null, "bad.json"));

    [Fact]
    public void Unknown_split_pattern_is_a_format_error() =>
        Assert.Throws<ModelFormatException>(() =>
            HuggingFaceTokenizerReader.Parse(ByteLevelJson.Replace("\\\\p{N}{1,3}", "\\\\p{N}{1,2}", StringComparison.Ordinal), null, "bl.json"));
}
