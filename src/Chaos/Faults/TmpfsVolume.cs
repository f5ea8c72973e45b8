using System.Diagnostics;
using System.Globalization;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos.Faults;

/// <summary>A fault action this process is not allowed to perform (e.g. <c>mount</c> without root); a runner reports the step as skipped with <see cref="Exception.Message"/>.</summary>
public sealed class FaultNotPermittedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FaultNotPermittedException() : this("the fault needs privileges this process does not have") { }

    /// <summary>Creates the exception with a message saying what is needed.</summary>
    public FaultNotPermittedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public FaultNotPermittedException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// A small disk that can be filled: a tmpfs of a given size mounted at a directory
/// (<c>mount -t tmpfs -o size=BYTES,mode=0755 tmpfs DIR</c>, root only), for the journal-disk-full
/// experiment. <see cref="FillAsync"/> writes a ballast file until only a given number of bytes is
/// free (ENOSPC for the next writer), <see cref="FreeAsync"/> deletes it (space returns), and
/// <see cref="DisposeAsync"/> unmounts what this instance mounted (<c>umount</c>, or a lazy
/// <c>umount -l</c> when the mount is still busy, e.g. a killed engine's files still open).
/// </summary>
public sealed class TmpfsVolume : IAsyncDisposable
{
    /// <summary>The ballast file's name in the mount's root.</summary>
    public const string BallastFileName = ".disk-full-ballast";

    private const int ChunkBytes = 1 << 20;
    private int _disposed;

    private TmpfsVolume(string directory, long sizeBytes)
    {
        Directory = directory;
        SizeBytes = sizeBytes;
    }

    /// <summary>The mount point (absolute path).</summary>
    public string Directory { get; }

    /// <summary>The size asked for, bytes (the kernel rounds it up to whole pages).</summary>
    public long SizeBytes { get; }

    /// <summary>The ballast file's path.</summary>
    public string BallastPath => Path.Combine(Directory, BallastFileName);

    /// <summary>Bytes free on the volume now (as <c>df</c> reports: available to an unprivileged writer).</summary>
    public long FreeBytes => new DriveInfo(Directory).AvailableFreeSpace;

    /// <summary>Bytes the ballast holds now (0 when there is none).</summary>
    public long BallastBytes => File.Exists(BallastPath) ? new FileInfo(BallastPath).Length : 0;

    /// <summary>
    /// Mounts a tmpfs of <paramref name="sizeBytes"/> at <paramref name="directory"/> (created when
    /// missing; it must be empty, since the mount would hide what is there).
    /// </summary>
    /// <param name="directory">The mount point.</param>
    /// <param name="sizeBytes">The size, bytes (1 MiB .. 4 GiB).</param>
    /// <param name="cancellationToken">Cancels waiting for <c>mount</c>.</param>
    /// <returns>The mounted volume; dispose it to unmount.</returns>
    /// <exception cref="FaultNotPermittedException">This process is not root: "needs root (mount)".</exception>
    /// <exception cref="ArgumentOutOfRangeException">The size is outside 1 MiB .. 4 GiB.</exception>
    /// <exception cref="IOException">The directory is not empty, or <c>mount</c> failed (its message is included).</exception>
    public static async Task<TmpfsVolume> MountAsync(string directory, long sizeBytes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (sizeBytes < 1 << 20 || sizeBytes > 4L << 30)
            throw new ArgumentOutOfRangeException(nameof(sizeBytes), sizeBytes, "the tmpfs size must be 1 MiB .. 4 GiB");
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
            throw new FaultNotPermittedException($"the disk-full fault needs root (mount -t tmpfs at {directory}); this process is not privileged");
        string full = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(full);
        if (System.IO.Directory.EnumerateFileSystemEntries(full).Any())
            throw new IOException($"{full} is not empty: mounting a tmpfs there would hide its content");
        string mount = ExternalTool.Find("mount", "mount");
        var (code, text) = await RunAsync(mount, ["-t", "tmpfs", "-o", string.Create(CultureInfo.InvariantCulture, $"size={sizeBytes},mode=0755"), "tmpfs", full],
            cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new IOException($"mount -t tmpfs at {full} failed (exit {code}): {text.Trim()}");
        return new TmpfsVolume(full, sizeBytes);
    }

    /// <summary>
    /// Fills the volume: appends zeros to the ballast file until at most <paramref name="leaveBytes"/>
    /// are free (a full disk for the next writer when 0). Calling it again after other writers used
    /// space tops the ballast up again.
    /// </summary>
    /// <param name="leaveBytes">Bytes to leave free (≥ 0; tmpfs counts whole 4 KiB pages).</param>
    /// <param name="cancellationToken">Cancels the fill (the ballast written so far stays).</param>
    /// <returns>The free bytes after the fill.</returns>
    /// <exception cref="ObjectDisposedException">The volume was unmounted.</exception>
    public async Task<long> FillAsync(long leaveBytes = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leaveBytes);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        byte[] zeros = new byte[ChunkBytes];
        await using var ballast = new FileStream(BallastPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        while (true)
        {
            long toWrite = FreeBytes - leaveBytes;
            if (toWrite <= 0) break;
            int n = (int)Math.Min(toWrite, ChunkBytes);
            try
            {
                await ballast.WriteAsync(zeros.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                await ballast.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // ENOSPC: the disk is as full as it gets (other writers took the rest).
                break;
            }
        }
        return FreeBytes;
    }

    /// <summary>Deletes the ballast: the space it held is free again. Does nothing when there is none.</summary>
    public Task FreeAsync()
    {
        File.Delete(BallastPath);
        return Task.CompletedTask;
    }

    /// <summary>Deletes the ballast and unmounts the tmpfs (lazily when it is busy). Bounded: each <c>umount</c> gets 10 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { File.Delete(BallastPath); }
        catch (IOException) { }
        string? umount = ExternalTool.TryFind("umount");
        if (umount is null) return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var (code, _) = await RunAsync(umount, [Directory], timeout.Token).ConfigureAwait(false);
            if (code != 0) await RunAsync(umount, ["-l", Directory], timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
    }

    private static async Task<(int Code, string Output)> RunAsync(string executable, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new IOException($"could not start {executable}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try { await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }
}
