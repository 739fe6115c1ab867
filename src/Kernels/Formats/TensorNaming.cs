namespace Serving.Kernels.Formats;

/// <summary>How a file format names the tensors of a Llama-family model.</summary>
internal sealed record TensorNaming(
    string TokenEmbedding,
    string OutputNorm,
    string Output,
    Func<int, string, string> Layer)
{
    /// <summary>GGUF names (llama.cpp): <c>blk.N.attn_q.weight</c>. llama2.c checkpoints are sliced into these too.</summary>
    public static TensorNaming Gguf { get; } = new(
        "token_embd.weight",
        "output_norm.weight",
        "output.weight",
        (layer, role) => $"blk.{layer}.{GgufRole(role)}");

    /// <summary>Hugging Face transformers names: <c>model.layers.N.self_attn.q_proj.weight</c>.</summary>
    public static TensorNaming HuggingFace { get; } = new(
        "model.embed_tokens.weight",
        "model.norm.weight",
        "lm_head.weight",
        (layer, role) => $"model.layers.{layer}.{HuggingFaceRole(role)}");

    private static string GgufRole(string role) => role switch
    {
        Roles.AttentionNorm => "attn_norm.weight",
        Roles.Query => "attn_q.weight",
        Roles.Key => "attn_k.weight",
        Roles.Value => "attn_v.weight",
        Roles.QueryBias => "attn_q.bias",
        Roles.KeyBias => "attn_k.bias",
        Roles.ValueBias => "attn_v.bias",
        Roles.AttentionOutput => "attn_output.weight",
        Roles.FeedForwardNorm => "ffn_norm.weight",
        Roles.Gate => "ffn_gate.weight",
        Roles.Up => "ffn_up.weight",
        Roles.Down => "ffn_down.weight",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown tensor role"),
    };

    private static string HuggingFaceRole(string role) => role switch
    {
        Roles.AttentionNorm => "input_layernorm.weight",
        Roles.Query => "self_attn.q_proj.weight",
        Roles.Key => "self_attn.k_proj.weight",
        Roles.Value => "self_attn.v_proj.weight",
        Roles.QueryBias => "self_attn.q_proj.bias",
        Roles.KeyBias => "self_attn.k_proj.bias",
        Roles.ValueBias => "self_attn.v_proj.bias",
        Roles.AttentionOutput => "self_attn.o_proj.weight",
        Roles.FeedForwardNorm => "post_attention_layernorm.weight",
        Roles.Gate => "mlp.gate_proj.weight",
        Roles.Up => "mlp.up_proj.weight",
        Roles.Down => "mlp.down_proj.weight",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown tensor role"),
    };

    /// <summary>The per-layer tensors of a decoder layer.</summary>
    public static class Roles
    {
        public const string AttentionNorm = "attention norm";
        public const string Query = "query";
        public const string Key = "key";
        public const string Value = "value";
        public const string QueryBias = "query bias";
        public const string KeyBias = "key bias";
        public const string ValueBias = "value bias";
        public const string AttentionOutput = "attention output";
        public const string FeedForwardNorm = "feed-forward norm";
        public const string Gate = "gate";
        public const string Up = "up";
        public const string Down = "down";
    }
}
