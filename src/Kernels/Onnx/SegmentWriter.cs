using Serving.Kernels.Onnx.Proto;
using Serving.Kernels.Tensors;
using static Serving.Kernels.Onnx.OnnxGraphBuilder;

namespace Serving.Kernels.Onnx;

/// <summary>The building blocks of a decoder segment (RMSNorm, linear layers, SwiGLU), written as ONNX nodes while
/// recording which model tensor supplies each declared weight.</summary>
internal sealed class SegmentWriter
{
    /// <summary>MatMulNBits with int8-quantized activations: the measured fast CPU path (level 0 is 2.5× slower).</summary>
    private const long AccuracyLevelInt8 = 4;

    private readonly List<WeightBinding> _weights = [];
    private readonly List<string> _inputs = [];
    private readonly List<string> _outputs = [];

    public SegmentWriter(string name, string rows)
    {
        Graph = new OnnxGraphBuilder(name);
        Rows = rows;
    }

    public OnnxGraphBuilder Graph { get; }

    /// <summary>The symbolic row dimension (tokens or logits rows) of every activation.</summary>
    public string Rows { get; }

    public string Input(string name, long columns)
    {
        _inputs.Add(name);
        return Graph.Input(name, Rows, columns);
    }

    public void Output(string name, long columns)
    {
        _outputs.Add(name);
        Graph.Output(name, Rows, columns);
    }

    /// <summary>RMSNorm over the last axis with ONNX Runtime's <c>SimplifiedLayerNormalization</c> (registered in the
    /// ONNX domain for the CPU provider since 1.x; one kernel instead of Pow/ReduceMean/Sqrt/Div/Mul).</summary>
    public string RmsNorm(string input, string weightName, WeightTensor weight, float epsilon, string output) =>
        Graph.Node("SimplifiedLayerNormalization", [input, Vector(weightName, weight)], output, string.Empty, Int("axis", -1), Float("epsilon", epsilon));

    /// <summary>The residual add fused into the next RMSNorm (<c>com.microsoft.SkipSimplifiedLayerNormalization</c>):
    /// returns the normalized sum and, in <paramref name="sum"/>, the sum itself (the new residual stream).</summary>
    public string AddRmsNorm(string input, string skip, string weightName, WeightTensor weight, float epsilon, string output, string sum)
    {
        Graph.Node("SkipSimplifiedLayerNormalization", [input, skip, Vector(weightName, weight)], [output, string.Empty, string.Empty, sum], MicrosoftDomain, Float("epsilon", epsilon));
        return output;
    }

    /// <summary>y = x·Wᵀ (+ bias) for a stored <c>[out, in]</c> matrix.</summary>
    public string Linear(string input, string weightName, WeightTensor weight, WeightTensor? bias, string output)
    {
        var matrix = OnnxMatrix.For(weightName, weight);
        _weights.Add(new WeightBinding(weightName, weight, matrix));
        var product = bias is null ? output : output + ".nobias";
        if (matrix.Lowering == MatrixLowering.Gemm)
        {
            var b = Graph.Weight(weightName, TensorProto.Types.DataType.Float, matrix.Rows, matrix.Columns);
            Graph.Node("Gemm", [input, b], product, string.Empty, Int("transB", 1));
        }
        else
        {
            var b = Graph.Weight(weightName, TensorProto.Types.DataType.Uint8, matrix.Rows, matrix.Blocks, matrix.BlobBytes);
            var scales = Graph.Weight(matrix.ScalesName, TensorProto.Types.DataType.Float, matrix.Rows * matrix.Blocks);
            Graph.Node(
                "MatMulNBits",
                [input, b, scales],
                product,
                MicrosoftDomain,
                Int("K", matrix.Columns),
                Int("N", matrix.Rows),
                Int("bits", matrix.Bits),
                Int("block_size", OnnxMatrix.BlockSize),
                Int("accuracy_level", AccuracyLevelInt8));
        }

        return bias is null ? output : Graph.Node("Add", [product, Vector(weightName + ".bias", bias)], output);
    }

    /// <summary>SiLU(gate)·up, written as Sigmoid and Muls (ONNX Runtime fuses Sigmoid×Mul into its SiLU kernel).</summary>
    public string SwiGlu(string gate, string up, string output)
    {
        var sigmoid = Graph.Node("Sigmoid", [gate], gate + ".sigmoid");
        var silu = Graph.Node("Mul", [gate, sigmoid], gate + ".silu");
        return Graph.Node("Mul", [silu, up], output);
    }

    public string Add(string a, string b, string output) => Graph.Node("Add", [a, b], output);

    public SegmentDefinition Build() => new(Graph.Build(), _weights, [.. _inputs], [.. _outputs]);

    private string Vector(string name, WeightTensor weight)
    {
        _weights.Add(new WeightBinding(name, weight, null));
        return Graph.Weight(name, TensorProto.Types.DataType.Float, weight.ElementCount);
    }
}
