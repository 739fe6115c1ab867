using Serving.Kernels.Tensors;

namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// What the interleaved k-quant kernels share: one block per row group and 256-column super-block opening with its
/// fp16 units (d, and for Q4_K/Q5_K dmin), and three kernels, each compiled for the units' cheapest exact conversion
/// (<see cref="InterleavedMatMul.Scales"/>) and, but for the eight-token tile, for one row group and for several
/// (<see cref="IRowGroups"/>): one token over one group or four sections, four tokens over one group or an adjacent
/// pair, and eight tokens over a pair. A virtual call per call of these (a few KiB of weights) costs nothing
/// measurable.
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

    protected sealed override void Group1(byte* group, QuantizedActivations q, int token, float* y)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                OneToken<OneRowGroup, F16NormalRowLoader>(group, 0, q, token, y, 0);
                break;
            case BlockScaleForm.Finite:
                OneToken<OneRowGroup, F16FiniteRowLoader>(group, 0, q, token, y, 0);
                break;
            default:
                OneToken<OneRowGroup, F16RowLoader>(group, 0, q, token, y, 0);
                break;
        }
    }

    protected sealed override void Group1x4(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                OneToken<SeveralRowGroups, F16NormalRowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
            case BlockScaleForm.Finite:
                OneToken<SeveralRowGroups, F16FiniteRowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
            default:
                OneToken<SeveralRowGroups, F16RowLoader>(group, sectionBytes, q, token, y, sectionRows);
                break;
        }
    }

    protected sealed override void Group4(byte* group, QuantizedActivations q, int token, float* y, int ldy)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Tile<OneRowGroup, F16NormalRowLoader>(group, group, q, token, y, ldy, null, 0);
                break;
            case BlockScaleForm.Finite:
                Tile<OneRowGroup, F16FiniteRowLoader>(group, group, q, token, y, ldy, null, 0);
                break;
            default:
                Tile<OneRowGroup, F16RowLoader>(group, group, q, token, y, ldy, null, 0);
                break;
        }
    }

    protected sealed override void Group4Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                Tile<SeveralRowGroups, F16NormalRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite:
                Tile<SeveralRowGroups, F16FiniteRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            default:
                Tile<SeveralRowGroups, F16RowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
        }
    }

    protected sealed override void Group8Pair(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
    {
        switch (Scales)
        {
            case BlockScaleForm.Normal:
                EightTokens<F16NormalRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            case BlockScaleForm.Finite:
                EightTokens<F16FiniteRowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
            default:
                EightTokens<F16RowLoader>(first, second, q, token, y, ldy, prefetch, prefetchLines);
                break;
        }
    }

    /// <summary>One token over one row group, or (<typeparamref name="TGroups"/> = <see cref="SeveralRowGroups"/>)
    /// four groups <paramref name="sectionBytes"/> apart read in step, their outputs <paramref name="sectionRows"/>
    /// apart; <typeparamref name="TUnits"/> converts the super-blocks' fp16 units.</summary>
    protected abstract void OneToken<TGroups, TUnits>(byte* group, long sectionBytes, QuantizedActivations q, int token, float* y, int sectionRows)
        where TGroups : struct, IRowGroups
        where TUnits : struct, IFloatRowLoader;

    /// <summary>Four tokens (outputs <paramref name="ldy"/> apart) over one row group, or two adjacent groups
    /// <paramref name="first"/> and <paramref name="second"/>, prefetching <paramref name="prefetchLines"/> lines from
    /// <paramref name="prefetch"/> spread over the work (<see cref="InterleavedMatMul.PrefetchShare"/>).</summary>
    protected abstract void Tile<TGroups, TUnits>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TGroups : struct, IRowGroups
        where TUnits : struct, IFloatRowLoader;

    /// <summary>The eight-token tile over two adjacent groups (<see cref="InterleavedMatMul.Group8Pair"/>), called
    /// only where <see cref="InterleavedMatMul.EightTokenTiles"/>.</summary>
    protected abstract void EightTokens<TUnits>(byte* first, byte* second, QuantizedActivations q, int token, float* y, int ldy, byte* prefetch, int prefetchLines)
        where TUnits : struct, IFloatRowLoader;
}
