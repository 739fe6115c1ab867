using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// What the interleaved k-quant kernels share: one block per row group and 256-column super-block, and two kernels,
/// each compiled for one row group and for several (<see cref="IRowGroups"/>): one token over one group or four
/// sections, and four tokens over one group or an adjacent pair. A virtual call per call of these (a few KiB of
/// weights) costs nothing measurable.
/// </summary>
internal abstract unsafe class SuperBlockInterleavedMatMul : InterleavedMatMul
{
    /// <param name="weight">The stored matrix.</param>
    /// <param name="groupBlockBytes">Bytes of one row group's super-block.</param>
    /// <param name="arena">Where the repacked matrix goes; null: an allocation of its own.</param>
    protected SuperBlockInterleavedMatMul(WeightTensor weight, int groupBlockBytes, WeightArena? arena)
        : base(weight, 256, groupBlockBytes, arena)
    {
    }

    protected sealed override void Group1(byte* group, QuantizedActivations q, int token, float* y) =>
        OneToken<OneRowGroup>(group, 0, q, token, y, 0);

    protected sealed override void Group1x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows) =>
        OneToken<SeveralRowGroups>(group, sectionBytes, q, token, y, sectionRows);

    protected sealed override void Group4(byte* group, QuantizedActivations q, int token, float* y, int ldy) =>
        Tile<OneRowGroup>(group, group, q, token, y, ldy, null, 0);

    protected sealed override void Group4Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines) =>
        Tile<SeveralRowGroups>(first, second, q, token, y, ldy, prefetch, prefetchLines);

    /// <summary>One token over one row group, or (<typeparamref name="TGroups"/> = <see cref="SeveralRowGroups"/>)
    /// four groups <paramref name="sectionBytes"/> apart read in step, their outputs <paramref name="sectionRows"/>
    /// apart.</summary>
    protected abstract void OneToken<TGroups>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
        where TGroups : struct, IRowGroups;

    /// <summary>Four tokens (outputs <paramref name="ldy"/> apart) over one row group, or two adjacent groups
    /// <paramref name="first"/> and <paramref name="second"/>, prefetching <paramref name="prefetchLines"/> lines from
    /// <paramref name="prefetch"/> spread over the work (<see cref="InterleavedMatMul.PrefetchShare"/>).</summary>
    protected abstract void Tile<TGroups>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TGroups : struct, IRowGroups;
}
