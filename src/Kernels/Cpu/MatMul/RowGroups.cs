namespace Serving.Kernels.Cpu.MatMul;

/// <summary>Whether an interleaved k-quant kernel covers one row group or several (four sections for one token, a
/// pair of adjacent groups for four tokens): a constant type argument the JIT compiles each instance for.</summary>
internal interface IRowGroups
{
    static abstract bool Several { get; }
}

/// <summary>One row group.</summary>
internal readonly struct OneRowGroup : IRowGroups
{
    public static bool Several => false;
}

/// <summary>Several row groups.</summary>
internal readonly struct SeveralRowGroups : IRowGroups
{
    public static bool Several => true;
}
