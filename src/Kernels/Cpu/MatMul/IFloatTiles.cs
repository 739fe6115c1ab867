namespace Serving.Kernels.Cpu.MatMul;

/// <summary>
/// The multiply-add loops of <see cref="FloatMatMul{TLoader, TTiles}"/> at one vector width. Each output is one
/// accumulator of that width over columns [0, end), then its horizontal sum; both tile shapes follow exactly that
/// order, so results do not depend on the tile a token lands in. One implementation per width because .NET has no
/// public width-generic vector interface and software 512-bit vectors are slow where the CPU lacks them.
/// </summary>
internal unsafe interface IFloatTiles
{
    /// <summary>Floats per vector.</summary>
    static abstract int Width { get; }

    /// <summary>Sums of four stored rows · one token into <paramref name="sums"/>[0..3].</summary>
    static abstract void Stored4x1<TLoader>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int end, float* sums)
        where TLoader : struct, IFloatRowLoader;

    /// <summary>Sum of one stored row · one token.</summary>
    static abstract float Stored1x1<TLoader>(byte* w, float* x, int end)
        where TLoader : struct, IFloatRowLoader;

    /// <summary>Sums of four fp32 panel rows (<paramref name="columns"/> apart) · four tokens into
    /// <paramref name="sums"/>[token × 4 + row].</summary>
    static abstract void Panel4x4(float* w, float* x, int columns, int end, float* sums);
}
