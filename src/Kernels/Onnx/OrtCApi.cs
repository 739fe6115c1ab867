using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Serving.Kernels.Onnx;

/// <summary>
/// The few ONNX Runtime C API calls the C# API of 1.31 does not expose: <c>AddExternalInitializers</c> (hand ONNX
/// Runtime our tensors for initializers the graph declares as external data, so the weights stay in our memory and
/// graph protos hold structure only; <c>SessionOptions.AddInitializer</c> cannot do this, it replaces initializers
/// whose data the proto itself must carry) and the raw tensor handles it takes. Called through the
/// <c>OrtApi</c> function table, whose layout is append-only by ONNX Runtime's ABI guarantee.
/// </summary>
internal static unsafe partial class OrtCApi
{
    // AddExternalInitializers has been in the table since C API version 12; ask for a version 1.31 surely has.
    private const uint ApiVersion = 20;

    // Slots in the OrtApi struct (onnxruntime_c_api.h): one function pointer each, in declaration order.
    private const int GetErrorMessageSlot = 2;
    private const int CreateTensorWithDataAsOrtValueSlot = 49;
    private const int CreateCpuMemoryInfoSlot = 69;
    private const int ReleaseStatusSlot = 93;
    private const int ReleaseMemoryInfoSlot = 94;
    private const int ReleaseValueSlot = 96;
    private const int AddExternalInitializersSlot = 210;

    private static readonly nint* Api = LoadApi();
    private static readonly nint CpuMemory = CreateCpuMemoryInfo();

    /// <summary>A tensor <c>OrtValue*</c> over <paramref name="data"/> (not copied); release with
    /// <see cref="ReleaseValue"/>.</summary>
    public static nint CreateTensor(nint data, long bytes, long[] shape, int elementType)
    {
        ArgumentNullException.ThrowIfNull(shape);
        nint value;
        fixed (long* dims = shape)
        {
            var create = (delegate* unmanaged<nint, nint, nuint, long*, nuint, int, nint*, nint>)Api[CreateTensorWithDataAsOrtValueSlot];
            Check(create(CpuMemory, data, (nuint)bytes, dims, (nuint)shape.Length, elementType, &value));
        }

        return value;
    }

    public static void ReleaseValue(nint value) => ((delegate* unmanaged<nint, void>)Api[ReleaseValueSlot])(value);

    /// <summary>Supplies external initializers to the sessions created with <paramref name="options"/>; the tensors
    /// must outlive those sessions.</summary>
    public static void AddExternalInitializers(SessionOptions options, IReadOnlyList<string> names, IReadOnlyList<nint> values)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(values);
        var count = names.Count;
        var utf8 = new nint[count];
        var handles = values.ToArray();
        var added = false;
        try
        {
            for (var i = 0; i < count; i++)
            {
                utf8[i] = Marshal.StringToCoTaskMemUTF8(names[i]);
            }

            options.DangerousAddRef(ref added);
            fixed (nint* namePointers = utf8)
            fixed (nint* valuePointers = handles)
            {
                var add = (delegate* unmanaged<nint, nint*, nint*, nuint, nint>)Api[AddExternalInitializersSlot];
                Check(add(options.DangerousGetHandle(), namePointers, valuePointers, (nuint)count));
            }
        }
        finally
        {
            if (added)
            {
                options.DangerousRelease();
            }

            foreach (var p in utf8)
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private static void Check(nint status)
    {
        if (status == 0)
        {
            return;
        }

        var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)Api[GetErrorMessageSlot])(status));
        ((delegate* unmanaged<nint, void>)Api[ReleaseStatusSlot])(status);
        throw new InvalidOperationException("ONNX Runtime: " + message);
    }

    private static nint* LoadApi()
    {
        // OrtApiBase { const OrtApi* (*GetApi)(uint32_t version); const char* (*GetVersionString)(void); }
        var apiBase = (nint*)OrtGetApiBase();
        var api = ((delegate* unmanaged<uint, nint*>)apiBase[0])(ApiVersion);
        return api != null ? api : throw new InvalidOperationException($"ONNX Runtime does not provide C API version {ApiVersion}");
    }

    private static nint CreateCpuMemoryInfo()
    {
        // OrtDeviceAllocator = 0, OrtMemTypeDefault = 0; lives as long as the process, like the tensors over it.
        nint info;
        Check(((delegate* unmanaged<int, int, nint*, nint>)Api[CreateCpuMemoryInfoSlot])(0, 0, &info));
        return info;
    }

    [LibraryImport("onnxruntime")]
    private static partial nint OrtGetApiBase();
}
