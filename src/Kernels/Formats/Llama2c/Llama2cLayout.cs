using Serving.Kernels.Tensors;

namespace Serving.Kernels.Formats.Llama2c;

/// <summary>Walks the float32 arrays of a llama2.c checkpoint in file order, creating a view per tensor. Views are
/// created only for bytes inside the file; a file too short for its header is reported, not read past.</summary>
internal sealed unsafe class Llama2cLayout(MappedFile file, long start)
{
    /// <summary>Offset just past the last array walked.</summary>
    public long End { get; private set; } = start;

    public Dictionary<string, WeightTensor> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>One array per layer, stored back to back; each becomes its own tensor.</summary>
    public void Stacked(int layers, Func<int, string> name, params long[] shape)
    {
        for (var i = 0; i < layers; i++)
        {
            Single(name(i), shape);
        }
    }

    public void Single(string name, params long[] shape)
    {
        // Header fields reach 2^31, so sizes are computed wide enough never to overflow.
        Int128 bytes = sizeof(float);
        foreach (var dim in shape)
        {
            bytes *= dim;
        }

        if (End + bytes > file.Length)
        {
            throw new ModelFormatException(
                $"{file.Name}: tensor '{name}' [{string.Join(", ", shape)}] at byte offset {End} runs past the end: the header " +
                $"implies at least {End + bytes} bytes, but the file has {file.Length}");
        }

        Tensors.Add(name, new WeightTensor(name, GgmlType.F32, shape, (nint)(file.Pointer + End), (long)bytes));
        End += (long)bytes;
    }

    public void Skip(long bytes) => End += bytes;
}
