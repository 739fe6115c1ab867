using System.Buffers.Binary;

namespace Serving.Kernels.Formats.Llama2c;

/// <summary>The hyper-parameters at the start of a llama2.c checkpoint: either the legacy header (7 int32, a
/// negative vocab size meaning an unshared classifier) or the version-1 header ("ak42" magic, version 1, 7 int32,
/// a shared-classifier byte, zero-padded to 256 bytes).</summary>
internal sealed record Llama2cHeader(
    int Version, int Dim, int HiddenDim, int LayerCount, int HeadCount, int KvHeadCount, int VocabSize, int SeqLen, bool SharedClassifier)
{
    public const uint Version1Magic = 0x616b3432;
    public const int LegacySize = 7 * 4;
    public const int Version1Size = 256;

    public int HeaderSize => Version == 0 ? LegacySize : Version1Size;

    public static Llama2cHeader Parse(MappedFile file)
    {
        var cursor = new ByteCursor(file.Prefix(Version1Size), file.Name);
        if (file.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(file.Prefix(4)) == Version1Magic)
        {
            cursor.ReadUInt32("magic");
            var version = cursor.ReadInt32("version");
            if (version != 1)
            {
                throw cursor.Error($"unsupported llama2.c checkpoint version {version} (supported: legacy, 1)", 4);
            }

            var v = ReadSeven(ref cursor);
            var shared = cursor.ReadByte("shared classifier flag");
            if (shared > 1)
            {
                throw cursor.Error($"shared classifier flag is {shared}, expected 0 or 1", cursor.Position - 1);
            }

            cursor.Align(Version1Size, "header padding");
            return new Llama2cHeader(1, v[0], v[1], v[2], v[3], v[4], v[5], v[6], shared == 1);
        }

        var legacy = ReadSeven(ref cursor);
        // The legacy format flags an unshared classifier by a negative vocabulary size.
        return new Llama2cHeader(0, legacy[0], legacy[1], legacy[2], legacy[3], legacy[4], Math.Abs(legacy[5]), legacy[6], legacy[5] > 0);
    }

    private static int[] ReadSeven(ref ByteCursor cursor)
    {
        string[] names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
        var values = new int[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var at = cursor.Position;
            values[i] = cursor.ReadInt32(names[i]);
            // vocab_size may be negative in legacy files; int.MinValue has no positive counterpart.
            if (values[i] == 0 || (values[i] < 0 && i != 5) || values[i] == int.MinValue)
            {
                throw cursor.Error($"header field {names[i]} is {values[i]}", at);
            }
        }

        return values;
    }
}
