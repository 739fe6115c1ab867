using Serving.Kernels.Models;

namespace Serving.Kernels.Onnx;

/// <summary>
/// The Llama decoder (Llama 2/3, TinyLlama, Mistral, Qwen2 biases), defined once as ONNX graph segments. On CPU the
/// step is cut at attention: RoPE, the KV-cache write and paged attention run in C# between
/// <see cref="PreAttention"/> and <see cref="PostAttention"/>. Every activation is <c>[tokens, width]</c> with a
/// dynamic token count, so one session serves decode, prefill chunks and mixed steps.
/// </summary>
internal static class LlamaOnnxDefinition
{
    public const string Tokens = "tokens";
    public const string LogitsRows = "rows";

    /// <summary>x → RMSNorm → q, k, v (with Qwen2 biases), before RoPE.</summary>
    public static SegmentDefinition PreAttention(ModelConfig config, LayerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        var s = new SegmentWriter("pre_attention", Tokens);
        var x = s.Input("x", config.HiddenSize);
        var normed = s.RmsNorm(x, "attn_norm", weights.AttentionNorm, config.RmsNormEps, "normed");
        s.Linear(normed, "wq", weights.Query, weights.QueryBias, "q");
        s.Linear(normed, "wk", weights.Key, weights.KeyBias, "k");
        s.Linear(normed, "wv", weights.Value, weights.ValueBias, "v");
        s.Output("q", config.QDim);
        s.Output("k", config.KvDim);
        s.Output("v", config.KvDim);
        return s.Build();
    }

    /// <summary>x, attention → x + O·attention = h → RMSNorm → SwiGLU feed-forward → h + down = x'.</summary>
    public static SegmentDefinition PostAttention(ModelConfig config, LayerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        var s = new SegmentWriter("post_attention", Tokens);
        var x = s.Input("x", config.HiddenSize);
        var attention = s.Input("attention", config.QDim);
        var projected = s.Linear(attention, "wo", weights.Output, null, "projected");
        var normed = s.AddRmsNorm(projected, x, "ffn_norm", weights.FeedForwardNorm, config.RmsNormEps, "normed", "h");
        var gate = s.Linear(normed, "w_gate", weights.Gate, null, "gate");
        var up = s.Linear(normed, "w_up", weights.Up, null, "up");
        var activated = s.SwiGlu(gate, up, "activated");
        var down = s.Linear(activated, "w_down", weights.Down, null, "down");
        s.Add("h", down, "x_out");
        s.Output("x_out", config.HiddenSize);
        return s.Build();
    }

    /// <summary>Residual rows whose logits are wanted → final RMSNorm → output projection.</summary>
    public static SegmentDefinition Head(ModelConfig config, ModelWeights weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        var s = new SegmentWriter("head", LogitsRows);
        var rows = s.Input("rows", config.HiddenSize);
        var normed = s.RmsNorm(rows, "output_norm", weights.OutputNorm, config.RmsNormEps, "normed");
        s.Linear(normed, "output", weights.Output, null, "logits");
        s.Output("logits", config.VocabSize);
        return s.Build();
    }
}
