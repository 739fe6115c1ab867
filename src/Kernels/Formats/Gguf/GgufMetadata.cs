using System.Diagnostics.CodeAnalysis;

namespace Serving.Kernels.Formats.Gguf;

/// <summary>The key/value metadata of a GGUF file. Integer accessors accept any stored integer type whose value
/// fits (converters disagree on widths); <c>TryGet…</c> returns false only when the key is absent, and every
/// accessor throws <see cref="ModelFormatException"/> when the stored value has an incompatible type.</summary>
public sealed class GgufMetadata
{
    private readonly Dictionary<string, object> _values;
    private readonly string _fileName;

    internal GgufMetadata(Dictionary<string, object> values, string fileName)
    {
        _values = values;
        _fileName = fileName;
    }

    /// <summary>All keys, in file order.</summary>
    public IReadOnlyCollection<string> Keys => _values.Keys;

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>The raw value (see the type mapping on <see cref="GgufWriter.Add(string, object)"/>), if present.</summary>
    public bool TryGetValue(string key, [NotNullWhen(true)] out object? value) => _values.TryGetValue(key, out value);

    /// <summary>A string value.</summary>
    public string GetString(string key) => Get(key, "string", Cast<string>);

    /// <summary>A string value, if present.</summary>
    public bool TryGetString(string key, [NotNullWhen(true)] out string? value) => TryGet(key, "string", Cast<string>, out value);

    /// <summary>An integer value that fits uint32.</summary>
    public uint GetUInt32(string key) => Get<uint>(key, "uint32", ToUInt32);

    /// <summary>An integer value that fits uint32, if present.</summary>
    public bool TryGetUInt32(string key, out uint value) => TryGet(key, "uint32", ToUInt32, out value);

    /// <summary>An integer value that fits uint64.</summary>
    public ulong GetUInt64(string key) => Get<ulong>(key, "uint64", ToUInt64);

    /// <summary>An integer value that fits uint64, if present.</summary>
    public bool TryGetUInt64(string key, out ulong value) => TryGet(key, "uint64", ToUInt64, out value);

    /// <summary>A float32 (or float64, narrowed) value.</summary>
    public float GetFloat32(string key) => Get<float>(key, "float32", ToFloat32);

    /// <summary>A float32 (or float64, narrowed) value, if present.</summary>
    public bool TryGetFloat32(string key, out float value) => TryGet(key, "float32", ToFloat32, out value);

    /// <summary>A bool value.</summary>
    public bool GetBool(string key) => Get(key, "bool", Cast<bool>);

    /// <summary>A bool value, if present.</summary>
    public bool TryGetBool(string key, out bool value) => TryGet(key, "bool", Cast<bool>, out value);

    /// <summary>An array of strings.</summary>
    public IReadOnlyList<string> GetStringArray(string key) => Get(key, "array of string", Cast<string[]>);

    /// <summary>An array of strings, if present.</summary>
    public bool TryGetStringArray(string key, [NotNullWhen(true)] out IReadOnlyList<string>? value) =>
        TryGet(key, "array of string", Cast<string[]>, out value);

    /// <summary>An array of float32 (or float64, narrowed).</summary>
    public IReadOnlyList<float> GetFloat32Array(string key) => Get<float[]>(key, "array of float32", ToFloat32Array);

    /// <summary>An array of float32 (or float64, narrowed), if present.</summary>
    public bool TryGetFloat32Array(string key, [NotNullWhen(true)] out IReadOnlyList<float>? value) =>
        TryGet(key, "array of float32", ToFloat32Array, out value);

    /// <summary>An array of integers that all fit int32.</summary>
    public IReadOnlyList<int> GetInt32Array(string key) => Get<int[]>(key, "array of int32", ToInt32Array);

    /// <summary>An array of integers that all fit int32, if present.</summary>
    public bool TryGetInt32Array(string key, [NotNullWhen(true)] out IReadOnlyList<int>? value) =>
        TryGet(key, "array of int32", ToInt32Array, out value);

    private T Get<T>(string key, string expected, Func<object, (bool Ok, T Value)> convert) =>
        TryGet(key, expected, convert, out T? value)
            ? value
            : throw new ModelFormatException($"{_fileName}: metadata key '{key}' ({expected}) is missing");

    private bool TryGet<T, TOut>(string key, string expected, Func<object, (bool Ok, T Value)> convert, [NotNullWhen(true)] out TOut? value)
        where T : TOut
    {
        if (!_values.TryGetValue(key, out var raw))
        {
            value = default;
            return false;
        }

        var (ok, converted) = convert(raw);
        if (!ok || converted is null)
        {
            throw new ModelFormatException(
                $"{_fileName}: metadata key '{key}' holds {GgufValueCodec.Describe(raw)} ({Preview(raw)}), expected {expected}");
        }

        value = converted;
        return true;
    }

    private static string Preview(object raw) => raw is Array a ? $"{a.Length} elements" : $"value {raw}";

    private static (bool, T) Cast<T>(object raw) => raw is T t ? (true, t) : (false, default!);

    private static bool TryInteger(object raw, out Int128 value)
    {
        (var ok, value) = raw switch
        {
            byte v => (true, (Int128)v),
            sbyte v => (true, v),
            ushort v => (true, v),
            short v => (true, v),
            uint v => (true, v),
            int v => (true, v),
            ulong v => (true, v),
            long v => (true, v),
            _ => (false, Int128.Zero),
        };
        return ok;
    }

    private static (bool, uint) ToUInt32(object raw) =>
        TryInteger(raw, out var v) && v >= 0 && v <= uint.MaxValue ? (true, (uint)v) : (false, 0u);

    private static (bool, ulong) ToUInt64(object raw) =>
        TryInteger(raw, out var v) && v >= 0 && v <= ulong.MaxValue ? (true, (ulong)v) : (false, 0ul);

    private static (bool, float) ToFloat32(object raw) => raw switch
    {
        float f => (true, f),
        double d => (true, (float)d),
        _ => (false, 0f),
    };

    private static (bool, float[]) ToFloat32Array(object raw) => raw switch
    {
        float[] f => (true, f),
        double[] d => (true, Array.ConvertAll(d, x => (float)x)),
        _ => (false, []),
    };

    private static (bool, int[]) ToInt32Array(object raw)
    {
        if (raw is not Array array)
        {
            return (false, []);
        }

        switch (GgufValueCodec.ElementType(array))
        {
            case GgufValueType.Int32:
                return (true, (int[])array);
            case GgufValueType.String or GgufValueType.Array or GgufValueType.Float32 or GgufValueType.Float64 or GgufValueType.Bool:
                return (false, []);
        }

        var result = new int[array.Length];
        for (var i = 0; i < result.Length; i++)
        {
            if (!TryInteger(array.GetValue(i)!, out var v) || v < int.MinValue || v > int.MaxValue)
            {
                return (false, []);
            }

            result[i] = (int)v;
        }

        return (true, result);
    }
}
