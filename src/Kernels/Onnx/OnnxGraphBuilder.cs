using Google.Protobuf;
using Serving.Kernels.Onnx.Proto;

namespace Serving.Kernels.Onnx;

/// <summary>Writes one ONNX graph: float inputs and outputs with a dynamic row count, weight declarations without
/// data (their bytes are supplied at session creation as external initializers), and nodes.</summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The contrib domain of ONNX Runtime's own operators (MatMulNBits, SkipSimplifiedLayerNormalization).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    // Opset 17 has every standard op used here (Gemm, Add, Mul, Sigmoid, Split) at its current semantics.
    private const long OnnxOpset = 17;
    private const long MicrosoftOpset = 1;

    // IR version 8 matches opset 17 (ONNX 1.12); ONNX Runtime 1.31 reads up to IR 11.
    private const long IrVersion = 8;

    private readonly GraphProto _graph;
    private int _nodes;

    public OnnxGraphBuilder(string name)
    {
        _graph = new GraphProto { Name = name };
    }

    /// <summary>Declares a float input <c>[rows, columns]</c> whose row count is the symbolic dimension
    /// <paramref name="rows"/>.</summary>
    public string Input(string name, string rows, long columns)
    {
        _graph.Input.Add(FloatMatrix(name, rows, columns));
        return name;
    }

    /// <summary>Declares a float output <c>[rows, columns]</c> produced by some node.</summary>
    public void Output(string name, string rows, long columns) => _graph.Output.Add(FloatMatrix(name, rows, columns));

    /// <summary>Declares a weight: shape and type only, as external data. ONNX Runtime never opens the location: the
    /// tensor of the same name given to <c>AddExternalInitializers</c> replaces the declaration.</summary>
    public string Weight(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.Add(dims);
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = name });
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node with one output named <paramref name="output"/>.</summary>
    public string Node(string opType, string[] inputs, string output, string domain = "", params AttributeProto[] attributes)
    {
        Node(opType, inputs, [output], domain, attributes);
        return output;
    }

    /// <summary>Adds a node.</summary>
    public void Node(string opType, string[] inputs, string[] outputs, string domain = "", params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Domain = domain, Name = $"{opType}_{_nodes++}" };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        _graph.Node.Add(node);
    }

    public ModelProto Build()
    {
        var model = new ModelProto { IrVersion = IrVersion, ProducerName = "Serving.Kernels", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OnnxOpset });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = MicrosoftOpset });
        return model;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static byte[] Serialize(ModelProto model) => model.ToByteArray();

    private static ValueInfoProto FloatMatrix(string name, string rows, long columns)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = rows });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = columns });
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
