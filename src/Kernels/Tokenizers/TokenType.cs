namespace Serving.Kernels.Tokenizers;

/// <summary>Kinds of vocabulary entries, numbered as GGUF's <c>tokenizer.ggml.token_type</c>.</summary>
public enum TokenType
{
    /// <summary>An ordinary piece of text.</summary>
    Normal = 1,

    /// <summary>The unknown token.</summary>
    Unknown = 2,

    /// <summary>A control token (BOS, EOS, chat markers): never produced from plain text by merging.</summary>
    Control = 3,

    /// <summary>A user-defined token matched literally in text.</summary>
    UserDefined = 4,

    /// <summary>An unused slot.</summary>
    Unused = 5,

    /// <summary>A byte-fallback token &lt;0xNN&gt;.</summary>
    Byte = 6,
}
