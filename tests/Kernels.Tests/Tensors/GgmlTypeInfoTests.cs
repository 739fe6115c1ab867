using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Tensors;

public sealed class GgmlTypeInfoTests
{
    [Theory]
    [InlineData(GgmlType.F32, 64, 256)]
    [InlineData(GgmlType.F16, 64, 128)]
    [InlineData(GgmlType.BF16, 64, 128)]
    [InlineData(GgmlType.Q8_0, 64, 68)]
    [InlineData(GgmlType.Q4_0, 64, 36)]
    [InlineData(GgmlType.Q4_0, 33, -1)]
    [InlineData(GgmlType.Q4_K, 512, 288)]
    [InlineData(GgmlType.Q5_K, 256, 176)]
    [InlineData(GgmlType.Q6_K, 768, 630)]
    [InlineData(GgmlType.Q6_K, 128, -1)]
    public void ByteCount_matches_block_geometry(GgmlType type, long elements, long expected) =>
        Assert.Equal(expected, GgmlTypeInfo.ByteCount(type, elements));
}
