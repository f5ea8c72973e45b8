using System.Runtime.InteropServices;

namespace ExchangeHealth.Load;

/// <summary>
/// Sub-millisecond sleeps for the open model's pacing without burning a core: on Linux
/// <c>clock_nanosleep</c> with the calling thread's timer slack lowered to 1 µs (the default 50 µs
/// slack would make every wake-up late by that much); elsewhere <see cref="Thread.Sleep(int)"/>
/// and <see cref="Thread.Yield"/>.
/// </summary>
internal static partial class PreciseSleep
{
    private const int ClockMonotonic = 1;
    private const int PrSetTimerSlack = 29;
    private static bool _nativeFailed;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc.so.6", EntryPoint = "clock_nanosleep")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int ClockNanosleep(int clockId, int flags, in Timespec request, IntPtr remain);

    [LibraryImport("libc.so.6", EntryPoint = "prctl")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    /// <summary>Lowers the calling thread's timer slack to 1 µs (Linux only; best effort).</summary>
    public static void ReduceTimerSlackOfThisThread()
    {
        if (!OperatingSystem.IsLinux() || _nativeFailed) return;
        try { _ = Prctl(PrSetTimerSlack, 1_000, 0, 0, 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _nativeFailed = true; }
    }

    /// <summary>Sleeps about <paramref name="nanoseconds"/> (may return early on a signal; callers re-check the clock).</summary>
    public static void Sleep(long nanoseconds)
    {
        if (nanoseconds <= 0) return;
        if (OperatingSystem.IsLinux() && !_nativeFailed)
        {
            try
            {
                var ts = new Timespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
                _ = ClockNanosleep(ClockMonotonic, 0, ts, IntPtr.Zero);
                return;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _nativeFailed = true;
            }
        }
        if (nanoseconds >= 1_000_000) Thread.Sleep((int)Math.Min(nanoseconds / 1_000_000, int.MaxValue));
        else Thread.Yield();
    }
}
