namespace Serving.Kernels.Cpu.MatMul;

/// <summary>What the fp16 block scales of a repacked matrix are, which decides the cheapest exact conversion to
/// fp32 the kernels may use for them.</summary>
internal enum BlockScaleForm
{
    /// <summary>Some scale is infinite or NaN: the general conversion (<see cref="F16RowLoader"/>).</summary>
    Any,

    /// <summary>Every scale is finite, some subnormal: <see cref="F16FiniteRowLoader"/>.</summary>
    Finite,

    /// <summary>Every scale is a normal number (zero scales were rewritten at repack, see
    /// <see cref="InterleavedMatMul"/>): <see cref="F16NormalRowLoader"/>, integer operations only.</summary>
    Normal,
}
