namespace Serving.Kernels.Numerics;

/// <summary>fp16 → fp32 by table lookup. Block scales of Q4_0/Q8_0 are fp16; a 256 KiB table that stays in L2 turns
/// each conversion into one load, which is cheaper than the scalar software path in the hot loops.</summary>
internal static class HalfTable
{
    private static readonly float[] Table = Build();

    public static float ToSingle(ushort bits) => Table[bits];

    public static ref float Start => ref Table[0];

    private static float[] Build()
    {
        var table = new float[65536];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        }

        return table;
    }
}
