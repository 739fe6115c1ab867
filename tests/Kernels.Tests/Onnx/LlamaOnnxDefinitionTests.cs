using Serving.Kernels.Models.Synthetic;
using Serving.Kernels.Onnx;
using Serving.Kernels.Onnx.Proto;
using Serving.Kernels.Tensors;
using Serving.Kernels.Tests.Runner;

namespace Serving.Kernels.Tests.Onnx;

/// <summary>The lowering itself: which ops each segment uses per weight type, the initializer names, and that graph
/// protos declare weights as external data without carrying a single weight byte.</summary>
public sealed class LlamaOnnxDefinitionTests
{
    [Fact]
    public void Q4_0_layers_lower_to_MatMulNBits_with_fused_norms()
    {
        var config = RunnerAgreementTests.SmallConfig();
        using var model = new InMemoryModel(config, GgmlType.Q4_0, seed: 1);
        var pre = LlamaOnnxDefinition.PreAttention(config, model.Weights.Layers[0]);
        var post = LlamaOnnxDefinition.PostAttention(config, model.Weights.Layers[0]);

        Assert.Equal(["SimplifiedLayerNormalization", "MatMulNBits", "MatMulNBits", "MatMulNBits"], pre.Model.Graph.Node.Select(n => n.OpType));
        Assert.Equal(
            ["MatMulNBits", "SkipSimplifiedLayerNormalization", "MatMulNBits", "MatMulNBits", "Sigmoid", "Mul", "Mul", "MatMulNBits", "Add"],
            post.Model.Graph.Node.Select(n => n.OpType));
        Assert.Equal(["attn_norm", "wq", "wq.scales", "wk", "wk.scales", "wv", "wv.scales"], pre.Model.Graph.Initializer.Select(t => t.Name));
        Assert.Equal(["x"], pre.Inputs);
        Assert.Equal(["q", "k", "v"], pre.Outputs);
        Assert.Equal(["x", "attention"], post.Inputs);
        Assert.Equal(["x_out"], post.Outputs);

        var wq = pre.Model.Graph.Node[1];
        Assert.Equal(OnnxGraphBuilder.MicrosoftDomain, wq.Domain);
        var attributes = wq.Attribute.ToDictionary(a => a.Name, a => a.I);
        Assert.Equal(config.HiddenSize, attributes["K"]);
        Assert.Equal(config.QDim, attributes["N"]);
        Assert.Equal(4, attributes["bits"]);
        Assert.Equal(32, attributes["block_size"]);
        Assert.Equal(4, attributes["accuracy_level"]);
        var codes = pre.Model.Graph.Initializer.Single(t => t.Name == "wq");
        Assert.Equal([config.QDim, config.HiddenSize / 32, 16], codes.Dims);
        Assert.Equal((int)TensorProto.Types.DataType.Uint8, codes.DataType);
    }

    [Theory]
    [InlineData(GgmlType.F32, "Gemm")]
    [InlineData(GgmlType.F16, "Gemm")]
    [InlineData(GgmlType.Q8_0, "MatMulNBits")]
    public void Matrices_lower_by_storage_type(GgmlType type, string op)
    {
        var config = RunnerAgreementTests.SmallConfig();
        using var model = new InMemoryModel(config, type, seed: 1);
        var head = LlamaOnnxDefinition.Head(config, model.Weights);
        Assert.Equal(["SimplifiedLayerNormalization", op], head.Model.Graph.Node.Select(n => n.OpType));
        if (op == "Gemm")
        {
            Assert.Equal(1, head.Model.Graph.Node[1].Attribute.Single(a => a.Name == "transB").I);
            Assert.Equal(["output_norm", "output"], head.Model.Graph.Initializer.Select(t => t.Name));
        }
        else
        {
            Assert.Equal(8, head.Model.Graph.Node[1].Attribute.Single(a => a.Name == "bits").I);
        }
    }

    [Fact]
    public void Graph_protos_hold_structure_only()
    {
        var config = RunnerAgreementTests.SmallConfig() with { HiddenSize = 512, IntermediateSize = 1024, HeadDim = 128, VocabSize = 4096 };
        using var model = new InMemoryModel(config, GgmlType.F32, seed: 1);
        var segments = new[]
        {
            LlamaOnnxDefinition.PreAttention(config, model.Weights.Layers[0]),
            LlamaOnnxDefinition.PostAttention(config, model.Weights.Layers[0]),
            LlamaOnnxDefinition.Head(config, model.Weights),
        };
        foreach (var segment in segments)
        {
            foreach (var tensor in segment.Model.Graph.Initializer)
            {
                Assert.True(tensor.RawData.IsEmpty, tensor.Name);
                Assert.Equal(TensorProto.Types.DataLocation.External, tensor.DataLocation);
            }

            // The head alone has 2M fp32 weights (8 MB); its proto is a few hundred bytes.
            Assert.True(OnnxGraphBuilder.Serialize(segment.Model).Length < 4096);
            Assert.Equal(segment.Model.Graph.Initializer.Select(t => t.Name), segment.Weights.SelectMany(Names));
        }
    }

    private static IEnumerable<string> Names(WeightBinding binding) =>
        binding.Matrix is { Lowering: not MatrixLowering.Gemm } matrix ? [binding.Name, matrix.ScalesName] : [binding.Name];
}
