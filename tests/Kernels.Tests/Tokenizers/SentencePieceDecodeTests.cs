using System.Text;
using CsCheck;

namespace Serving.Kernels.Tests.Tokenizers;

public sealed class SentencePieceDecodeTests
{
    /// <summary>run.c's 200 greedy tokens from BOS (SOURCE.md) and llama2.c's test_all.py expected text.</summary>
    private const string GreedyIds =
        "403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267 337 335 312 432 398 312 286 267 414 270 333 415 426 13 438 310 439 419 357 336 432 313 438 310 432 278 316 439 419 298 414 267 265 282 295 433 426 436 317 286 296 418 269 279 292 416 439 413 409 416 327 263 415 294 267 400 426 338 336 432 313 442 391 267 337 335 364 420 268 388 432 398 359 280 303 439 413 272 417 264 312 426 436 13 438 310 286 296 418 269 279 292 416 439 413 409 416 327 263 415 294 267 400 426 338 336 432 313 442 439 423 262 304 420 422 432 317 426 359 279 292 416 439 413 409 416 327 263 415 294 267 400 426 436 13 438 310 279 292 416 439 413 391 267 281 421 427 311 357 432 384 358";

    private const string GreedyText =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find it.\"\nLily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\nLily didn't want to help her mom, so she";

    [Fact]
    public void Decodes_run_c_greedy_output_exactly()
    {
        var ids = Array.ConvertAll(GreedyIds.Split(' '), int.Parse);
        Assert.Equal(200, ids.Length);
        Assert.Equal(GreedyText, Tok512.Tokenizer.Decode([1, .. ids], skipSpecialTokens: true));
    }

    [Fact]
    public void Skips_or_writes_special_tokens()
    {
        int[] ids = [1, 403, 407, 261, 378, 2];
        Assert.Equal("Once upon a time", Tok512.Tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<s>Once upon a time</s>", Tok512.Tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void Token_bytes_follow_sentencepiece_conventions()
    {
        Assert.Equal(" Once"u8.ToArray(), Tok512.Tokenizer.GetTokenBytes(403).ToArray());
        Assert.Equal("\n"u8.ToArray(), Tok512.Tokenizer.GetTokenBytes(13).ToArray());
        Assert.Empty(Tok512.Tokenizer.GetTokenBytes(1).ToArray());
        Assert.Empty(Tok512.Tokenizer.GetTokenBytes(2).ToArray());
    }

    [Theory]
    [InlineData(0x80)]
    [InlineData(0xC3)]
    [InlineData(0xFF)]
    public void Lone_invalid_byte_decodes_to_replacement_character(int value) =>
        Assert.Equal("\uFFFD", Tok512.Tokenizer.Decode([Tok512.Byte(value)], skipSpecialTokens: true));

    [Fact]
    public void Out_of_range_id_is_an_argument_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok512.Tokenizer.Decode([512], skipSpecialTokens: true));

    [Fact]
    public void Lone_surrogate_encodes_as_replacement_character() =>
        Assert.Equal("a\uFFFDb", RoundTrip("a\uD800b"));

    /// <summary>SentencePiece writes spaces as U+2581 before it tokenizes, so a U+2581 typed in the text is a space
    /// after the round trip (as in sentencepiece and llama.cpp): the one character the round trips below leave out.</summary>
    [Fact]
    public void Space_marker_in_text_decodes_as_space() =>
        Assert.Equal("a b", RoundTrip("a\u2581b"));

    [Fact]
    public void Round_trips_unicode_text()
    {
        var codePoint = Gen.OneOf(Gen.Int[0, 127], Gen.Int[0x4E00, 0x9FFF], Gen.Int[0x1F300, 0x1FAFF], Gen.Int[0, 0x10FFFF])
            .Where(cp => cp is (< 0xD800 or > 0xDFFF) and not SpaceMarker);
        var text = codePoint.Array[0, 24].Select(cps =>
        {
            var builder = new StringBuilder();
            foreach (var cp in cps)
            {
                builder.Append(char.ConvertFromUtf32(cp));
            }

            return builder.ToString();
        });
        text.Sample(s => Assert.Equal(s, RoundTrip(s)), iter: 3000);
    }

    [Fact]
    public void Round_trips_arbitrary_utf16_after_replacing_lone_surrogates() =>
        Gen.String.Select(s => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)))
            .Where(s => !HasLiteralSpecialToken(s) && !s.Contains((char)SpaceMarker, StringComparison.Ordinal))
            .Sample(s => Assert.Equal(s, RoundTrip(s)), iter: 3000);

    private const int SpaceMarker = 0x2581;

    /// <summary>Special tokens typed in text become control ids, which decoding skips: outside the round trip.</summary>
    private static bool HasLiteralSpecialToken(string text) =>
        text.Contains("<s>", StringComparison.Ordinal) || text.Contains("</s>", StringComparison.Ordinal)
        || text.Contains("<unk>", StringComparison.Ordinal);

    private static string RoundTrip(string text) =>
        Tok512.Tokenizer.Decode(Tok512.Tokenizer.Encode(text, addSpecialTokens: true), skipSpecialTokens: true);
}
