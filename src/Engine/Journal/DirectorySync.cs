using System.Runtime.InteropServices;

namespace ExchangeHealth.Engine.Journal;

/// <summary>
/// fsync of a directory, so that a file created, renamed or deleted in it survives a power loss
/// (POSIX makes the directory entry durable only then). .NET has no API for it; on Linux we call
/// libc, elsewhere it is a no-op.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;          // O_RDONLY
    private const int DirectoryFlag = 0x10000; // O_DIRECTORY on Linux x86-64 and arm64

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(directory, ReadOnly | DirectoryFlag);
        if (fd < 0) throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
