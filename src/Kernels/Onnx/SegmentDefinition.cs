using Serving.Kernels.Onnx.Proto;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Onnx;

/// <summary>A weight a segment graph declares, and the model tensor that supplies it. <paramref name="Matrix"/> is
/// null for vectors (norm weights, biases).</summary>
internal sealed record WeightBinding(string Name, WeightTensor Tensor, OnnxMatrix? Matrix);

/// <summary>One graph segment: the graph (structure only), its weights, and its input/output names in the order
/// the executor binds them.</summary>
internal sealed record SegmentDefinition(ModelProto Model, IReadOnlyList<WeightBinding> Weights, string[] Inputs, string[] Outputs);
