using System.Runtime.InteropServices;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>Signals by PID through libc's <c>kill(2)</c> (Linux signal numbers).</summary>
internal static class Posix
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when it failed (no such process, not permitted).</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && Kill(pid, signal) == 0;

    /// <summary>Whether <paramref name="pid"/> exists and is not a zombie (from <c>/proc/PID/stat</c>).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z' && stat[close + 2] != 'X';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>The state letter of <c>/proc/PID/stat</c> (<c>R</c>, <c>S</c>, <c>T</c> stopped, <c>Z</c>...), or null when the process is gone.</summary>
    public static char? StateLetter(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length ? stat[close + 2] : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The process's command line (<c>/proc/PID/cmdline</c>), or empty when it is gone.</summary>
    public static IReadOnlyList<string> CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    // DllImport, not LibraryImport: that would need AllowUnsafeBlocks for the project; kill(2) takes
    // two ints and returns one, so the runtime marshaller has nothing to marshal.
#pragma warning disable SYSLIB1054, CA5392
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054, CA5392
}
