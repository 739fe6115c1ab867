using System.Runtime.InteropServices;

namespace Serving.Kernels.Cpu;

/// <summary>The one libc call the kernels make: advice to the kernel about how a memory range will be used.</summary>
internal static unsafe partial class LinuxMemory
{
    [LibraryImport("libc", EntryPoint = "madvise")]
    internal static partial int Madvise(void* address, nuint length, int advice);
}
